import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Registry } from 'prom-client';
import type { MetricsConfig } from '../config/observability-schema.ts';
import type { CounterCell, HistogramCell } from './bound-metrics.ts';
import type { CircuitChanged, McpToolCallFinished, RequestFinished } from './events.ts';
import {
  defineMetrics,
  defineRequestLogMetrics,
  type MetricDefinitions,
  type MetricSources,
  type RequestLogStats,
} from './metric-definitions.ts';
import { collectProcessMetrics, type EventLoopLag } from './process-metrics.ts';

/** The metric children of one label set, bound once and reused by every request that has it. */
interface BoundSet {
  readonly requests: CounterCell;
  readonly duration: HistogramCell;
  readonly firstChunk: HistogramCell;
  readonly inputTokens: HistogramCell;
  readonly outputTokens: HistogramCell;
  readonly tokens: Readonly<Record<'input' | 'output' | 'cached_input' | 'cache_write' | 'reasoning', CounterCell>>;
  readonly cost: CounterCell;
  readonly overhead: HistogramCell;
}

/** The raw event fields a bound set was made for. */
type RecentSet = Pick<
  RequestFinished,
  'status' | 'model' | 'upstreamModel' | 'provider' | 'operation' | 'providerType' | 'errorCode' | 'keyName' | 'user'
> & { readonly set: BoundSet };

const MOST_BOUND_SETS = 10_000;
const RECENT_SETS = 8;
const CIRCUIT_VALUES = { closed: 0, half_open: 1, open: 2 } as const;

/** Keeps the first `max` distinct values of a label; later ones are reported as "other". */
class BoundedValues {
  readonly #seen = new Set<string>();
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  bound(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.#max) return 'other';
    this.#seen.add(value);
    return value;
  }
}

/** Prometheus metrics fed by the request events; `render` answers a scrape. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #metrics: MetricDefinitions;
  readonly #config: MetricsConfig;
  readonly #sets = new Map<string, BoundSet>();
  readonly #recent: RecentSet[] = [];
  #recentNext = 0;
  readonly #models: BoundedValues;
  readonly #targets: BoundedValues;
  readonly #people: BoundedValues;
  readonly #errors: BoundedValues;
  readonly #loopLag: EventLoopLag | undefined;
  readonly #inFlight: () => number;
  readonly #onFinished = (message: unknown): void => {
    this.#loopLag?.requestFinished(this.#inFlight());
    this.#record(message as RequestFinished);
  };
  readonly #tools: BoundedValues;
  readonly #onToolCall = (message: unknown): void => {
    const { server, tool, outcome, durationMs } = message as McpToolCallFinished;
    const labels = { server: this.#tools.bound(server), tool: this.#tools.bound(tool) };
    this.#metrics.mcpToolCalls.cell({ ...labels, outcome }).value++;
    this.#metrics.mcpToolCallDuration.cell(labels).observe(durationMs / 1000);
  };
  readonly #onCircuit = (message: unknown): void => {
    const { target, state } = message as CircuitChanged;
    this.#metrics.circuitState.set({ target: this.#targets.bound(target) }, CIRCUIT_VALUES[state]);
  };

  constructor(config: MetricsConfig, sources: MetricSources) {
    this.#config = config;
    this.#metrics = defineMetrics(this.registry, sources);
    this.#models = new BoundedValues(config.max_label_values);
    this.#targets = new BoundedValues(config.max_label_values);
    this.#people = new BoundedValues(config.max_label_values);
    this.#errors = new BoundedValues(50);
    this.#tools = new BoundedValues(config.max_label_values);
    this.#loopLag = config.process_metrics ? collectProcessMetrics(this.registry) : undefined;
    this.#inFlight = sources.inFlight;
    subscribe('lightport:request:finished', this.#onFinished);
    subscribe('lightport:circuit:changed', this.#onCircuit);
    subscribe('lightport:mcp:tool_call:finished', this.#onToolCall);
  }

  /** Adds the request-log writer's counts (read at scrape time). */
  watchRequestLog(stats: () => RequestLogStats): void {
    defineRequestLogMetrics(this.registry, stats);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    this.#loopLag?.close();
    unsubscribe('lightport:request:finished', this.#onFinished);
    unsubscribe('lightport:circuit:changed', this.#onCircuit);
    unsubscribe('lightport:mcp:tool_call:finished', this.#onToolCall);
  }

  #record(event: RequestFinished): void {
    if (event.operation === undefined) return;
    const set = this.#bound(event);
    set.requests.value++;
    set.duration.observe(event.durationMs / 1000);
    set.overhead.observe(Math.max(0, event.durationMs - event.upstreamMs) / 1000);
    if (event.streaming && event.firstByteMs !== undefined) set.firstChunk.observe(event.firstByteMs / 1000);
    const usage = event.usage;
    if (usage) {
      set.inputTokens.observe(usage.prompt_tokens);
      set.outputTokens.observe(usage.completion_tokens);
      set.tokens.input.value += usage.prompt_tokens;
      set.tokens.output.value += usage.completion_tokens;
      set.tokens.cached_input.value += usage.cached_tokens ?? 0;
      set.tokens.cache_write.value += usage.cache_write_tokens ?? 0;
      set.tokens.reasoning.value += usage.reasoning_tokens ?? 0;
    }
    if (event.costUsd !== undefined) set.cost.value += event.costUsd;
    if (event.streaming && event.status < 400 && event.errorCode !== undefined) this.#countInterrupted(event, event.errorCode);
    for (const attempt of event.attempts) {
      if (attempt.errorClass === undefined && !attempt.retry && !attempt.fallback) continue;
      const labels = { provider: attempt.provider, target: this.#targets.bound(`${attempt.provider}/${attempt.upstreamModel}`) };
      if (attempt.errorClass !== undefined && attempt.errorClass !== 'cancelled')
        this.#metrics.upstreamErrors.inc({ ...labels, class: attempt.errorClass });
      if (attempt.retry) this.#metrics.retries.inc(labels);
      else if (attempt.fallback) this.#metrics.fallbacks.inc(labels);
    }
  }

  /** A stream that had begun (status sent) and ended with an error event. */
  #countInterrupted(event: RequestFinished, reason: string): void {
    const target = event.provider === undefined ? '' : this.#targets.bound(`${event.provider}/${event.upstreamModel ?? ''}`);
    this.#metrics.streamsInterrupted.inc({ provider: event.provider ?? '', target, reason: this.#errors.bound(reason) });
  }

  /**
   * The bound set for the event's labels. Most traffic repeats a few label combinations, so a
   * handful of recent ones are matched field by field before any label string is built.
   */
  #bound(event: RequestFinished): BoundSet {
    const keyName = this.#config.labels.key ? event.keyName : undefined;
    const user = this.#config.labels.user ? event.user : undefined;
    for (const recent of this.#recent) {
      if (
        recent.status === event.status &&
        recent.model === event.model &&
        recent.upstreamModel === event.upstreamModel &&
        recent.provider === event.provider &&
        recent.operation === event.operation &&
        recent.providerType === event.providerType &&
        recent.errorCode === event.errorCode &&
        recent.keyName === keyName &&
        recent.user === user
      )
        return recent.set;
    }
    const set = this.#boundByLabels(event);
    const entry: RecentSet = {
      status: event.status,
      model: event.model,
      upstreamModel: event.upstreamModel,
      provider: event.provider,
      operation: event.operation,
      providerType: event.providerType,
      errorCode: event.errorCode,
      keyName,
      user,
      set,
    };
    if (this.#recent.length < RECENT_SETS) this.#recent.push(entry);
    else this.#recent[this.#recentNext++ % RECENT_SETS] = entry;
    return set;
  }

  #boundByLabels(event: RequestFinished): BoundSet {
    const model = this.#models.bound(event.model ?? '');
    const provider = event.provider ?? '';
    const target = event.provider === undefined ? '' : this.#targets.bound(`${event.provider}/${event.upstreamModel ?? ''}`);
    const status = String(event.status);
    const errorType = event.status >= 400 ? this.#errors.bound(event.errorCode ?? status) : '';
    const key = this.#config.labels.key ? this.#people.bound(event.keyName ?? '') : undefined;
    const user = this.#config.labels.user ? this.#people.bound(event.user ?? '') : undefined;
    const id = `${event.operation}\u0001${model}\u0001${target}\u0001${status}\u0001${errorType}\u0001${key}\u0001${user}\u0001${event.providerType}`;
    let set = this.#sets.get(id);
    if (set === undefined) {
      if (this.#sets.size >= MOST_BOUND_SETS) {
        this.#sets.clear();
        this.#recent.length = 0;
      }
      set = this.#bind({
        operation: event.operation ?? '',
        model,
        provider,
        providerType: event.providerType ?? '',
        target,
        status,
        errorType,
        key,
        user,
      });
      this.#sets.set(id, set);
    }
    return set;
  }

  #bind(labels: {
    operation: string;
    model: string;
    provider: string;
    providerType: string;
    target: string;
    status: string;
    errorType: string;
    key: string | undefined;
    user: string | undefined;
  }): BoundSet {
    const m = this.#metrics;
    const perTarget: Record<string, string> = { model: labels.model, provider: labels.provider, target: labels.target };
    if (labels.key !== undefined) perTarget['key'] = labels.key;
    if (labels.user !== undefined) perTarget['user'] = labels.user;
    const genAi = {
      gen_ai_operation_name: labels.operation,
      gen_ai_provider_name: labels.providerType,
      gen_ai_request_model: labels.model,
    };
    const tokens = (type: string): CounterCell => m.tokens.cell({ ...perTarget, type });
    return {
      requests: m.requests.cell({ operation: labels.operation, ...perTarget, status: labels.status }),
      duration: m.operationDuration.cell(labels.errorType === '' ? genAi : { ...genAi, error_type: labels.errorType }),
      firstChunk: m.timeToFirstChunk.cell(genAi),
      inputTokens: m.tokenUsage.cell({ ...genAi, gen_ai_token_type: 'input' }),
      outputTokens: m.tokenUsage.cell({ ...genAi, gen_ai_token_type: 'output' }),
      tokens: {
        input: tokens('input'),
        output: tokens('output'),
        cached_input: tokens('cached_input'),
        cache_write: tokens('cache_write'),
        reasoning: tokens('reasoning'),
      },
      cost: m.cost.cell(perTarget),
      overhead: m.overhead.cell({ operation: labels.operation, provider: labels.provider }),
    };
  }
}
