import { Counter, Gauge, type Registry } from 'prom-client';
import { BoundCounter, BoundHistogram } from './bound-metrics.ts';

/**
 * The gateway's Prometheus metrics. GenAI metrics follow the OpenTelemetry GenAI semantic
 * conventions (names and attributes, dots as underscores, unit as a suffix); everything
 * the conventions do not cover is `lightport_*`.
 */

/** Bucket boundaries the GenAI conventions recommend for durations (seconds) and token counts. */
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface MetricDefinitions {
  readonly requests: BoundCounter;
  readonly operationDuration: BoundHistogram;
  readonly timeToFirstChunk: BoundHistogram;
  readonly tokenUsage: BoundHistogram;
  readonly tokens: BoundCounter;
  readonly cost: BoundCounter;
  readonly overhead: BoundHistogram;
  readonly upstreamErrors: Counter;
  readonly streamsInterrupted: Counter;
  readonly retries: Counter;
  readonly fallbacks: Counter;
  readonly circuitState: Gauge;
  readonly inFlight: Gauge;
  readonly mcpToolCalls: BoundCounter;
  readonly mcpToolCallDuration: BoundHistogram;
}

/** Figures the metrics read when scraped, rather than being told per request. */
export interface MetricSources {
  inFlight(): number;
}

export interface RequestLogStats {
  readonly written: number;
  readonly droppedQueueFull: number;
  readonly droppedError: number;
  readonly queued: number;
}

/**
 * Per-request metrics are bound cells (labels: lightport_requests_total, lightport_tokens_total
 * and lightport_cost_usd_total have operation/model/provider/target[/key/user], the gen_ai_*
 * ones gen_ai_operation_name/gen_ai_provider_name/gen_ai_request_model); rarer ones are
 * ordinary prom-client metrics.
 */
export function defineMetrics(registry: Registry, sources: MetricSources): MetricDefinitions {
  const registers = [registry];
  return {
    requests: new BoundCounter(
      registry,
      'lightport_requests_total',
      'GenAI requests (chat, embeddings) by model, provider, target and HTTP status.',
    ),
    operationDuration: new BoundHistogram(registry, {
      name: 'gen_ai_client_operation_duration_seconds',
      help: 'GenAI operation duration: the whole request as the gateway served it (error_type on failures).',
      buckets: DURATION_BUCKETS,
    }),
    timeToFirstChunk: new BoundHistogram(registry, {
      name: 'gen_ai_client_operation_time_to_first_chunk_seconds',
      help: 'Time to the first chunk of a streamed answer, from the request arriving at the gateway.',
      buckets: DURATION_BUCKETS,
    }),
    tokenUsage: new BoundHistogram(registry, {
      name: 'gen_ai_client_token_usage',
      help: 'Input and output tokens per request.',
      buckets: TOKEN_BUCKETS,
    }),
    tokens: new BoundCounter(
      registry,
      'lightport_tokens_total',
      'Tokens by type: input, output, cached_input (cache reads), cache_write, reasoning.',
    ),
    cost: new BoundCounter(registry, 'lightport_cost_usd_total', 'Cost in USD of the answers served, from the pricing catalog.'),
    overhead: new BoundHistogram(registry, {
      name: 'lightport_gateway_overhead_seconds',
      help: "The gateway's own time per request: wall time minus time spent waiting on upstreams.",
      buckets: OVERHEAD_BUCKETS,
    }),
    upstreamErrors: new Counter({
      name: 'lightport_upstream_errors_total',
      help: 'Failed upstream attempts by class (rate_limit, overloaded, context_length, auth, bad_request, not_found, server, timeout, unreachable, not_allowed, broken).',
      labelNames: ['provider', 'target', 'class'],
      registers,
    }),
    streamsInterrupted: new Counter({
      name: 'lightport_streams_interrupted_total',
      help: 'Streams that began and then ended with an error event, by reason (upstream_error, upstream_timeout, shutting_down, ...).',
      labelNames: ['provider', 'target', 'reason'],
      registers,
    }),
    retries: new Counter({
      name: 'lightport_upstream_retries_total',
      help: 'Attempts that retried the same target.',
      labelNames: ['provider', 'target'],
      registers,
    }),
    fallbacks: new Counter({
      name: 'lightport_upstream_fallbacks_total',
      help: 'Attempts that fell back to another target (labelled with the target fallen back to).',
      labelNames: ['provider', 'target'],
      registers,
    }),
    circuitState: new Gauge({
      name: 'lightport_circuit_state',
      help: 'Circuit breaker state per target: 0 closed, 1 half-open, 2 open.',
      labelNames: ['target'],
      registers,
    }),
    mcpToolCalls: new BoundCounter(
      registry,
      'lightport_mcp_tool_calls_total',
      'MCP tool calls the tool loop ran, by server, tool and outcome (ok, tool_error, invalid_arguments, timeout, failed, unavailable).',
    ),
    mcpToolCallDuration: new BoundHistogram(registry, {
      name: 'lightport_mcp_tool_call_duration_seconds',
      help: 'Duration of MCP tool calls, by server and tool.',
      buckets: DURATION_BUCKETS,
    }),
    inFlight: new Gauge({
      name: 'lightport_requests_in_flight',
      help: 'Requests being served.',
      registers,
      collect() {
        this.set(sources.inFlight());
      },
    }),
  };
}

/** The request-log writer's counts, read at scrape time. */
export function defineRequestLogMetrics(registry: Registry, stats: () => RequestLogStats): readonly [Counter, Counter, Gauge] {
  const registers = [registry];
  const written = new Counter({
    name: 'lightport_request_log_written_total',
    help: 'Records written to the request-log store.',
    registers,
    collect() {
      this.reset();
      this.inc(stats().written);
    },
  });
  const dropped = new Counter({
    name: 'lightport_request_log_dropped_total',
    help: 'Records the request-log store lost: queue_full (the writer is behind) or error (the store is unavailable).',
    labelNames: ['reason'],
    registers,
    collect() {
      const { droppedQueueFull, droppedError } = stats();
      this.reset();
      this.inc({ reason: 'queue_full' }, droppedQueueFull);
      this.inc({ reason: 'error' }, droppedError);
    },
  });
  const queued = new Gauge({
    name: 'lightport_request_log_queue_depth',
    help: 'Records waiting to be written to the request-log store.',
    registers,
    collect() {
      this.set(stats().queued);
    },
  });
  return [written, dropped, queued];
}
