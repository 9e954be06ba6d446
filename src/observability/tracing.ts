import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../config/observability-schema.ts';
import type { AttemptFinished, McpToolCallFinished, RequestFinished } from './events.ts';
import { performance } from 'node:perf_hooks';

export interface Tracing {
  /** Exports the spans still buffered, then stops. */
  close(): Promise<void>;
}

const propagator = new W3CTraceContextPropagator();

/** Requests whose tool calls are held until the request finishes; beyond it the oldest are forgotten. */
const MOST_PENDING_REQUESTS = 10_000;

interface ToolCall {
  readonly event: McpToolCallFinished;
  /** Epoch ms the call ended. */
  readonly endedAt: number;
}

/**
 * OpenTelemetry traces over OTLP/HTTP, built from each finished request: a server span
 * for the request (continuing the caller's W3C traceparent), a client span per upstream
 * attempt and a span per MCP tool call, with GenAI attributes. Only started when tracing
 * is configured.
 */
export function startTracing(config: TracingConfig): Tracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.service_name }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sample_ratio) }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: config.endpoint, headers: config.headers }), {
        scheduledDelayMillis: config.export_delay_ms,
      }),
    ],
  });
  const tracer = provider.getTracer('lightport');
  const toolCalls = new Map<string, ToolCall[]>();
  const onToolCall = (message: unknown): void => {
    const event = message as McpToolCallFinished;
    let calls = toolCalls.get(event.requestId);
    if (calls === undefined) {
      if (toolCalls.size >= MOST_PENDING_REQUESTS) toolCalls.delete(toolCalls.keys().next().value ?? '');
      toolCalls.set(event.requestId, (calls = []));
    }
    calls.push({ event, endedAt: performance.timeOrigin + performance.now() });
  };
  const onFinished = (message: unknown): void => {
    const event = message as RequestFinished;
    const calls = toolCalls.get(event.requestId) ?? [];
    toolCalls.delete(event.requestId);
    if (event.operation !== undefined) recordSpans(tracer, event, calls);
  };
  subscribe('lightport:mcp:tool_call:finished', onToolCall);
  subscribe('lightport:request:finished', onFinished);
  return {
    close: async () => {
      unsubscribe('lightport:mcp:tool_call:finished', onToolCall);
      unsubscribe('lightport:request:finished', onFinished);
      await provider.shutdown();
    },
  };
}

function callerContext(event: RequestFinished): Context {
  if (event.traceparent === undefined) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent: event.traceparent };
  if (event.tracestate !== undefined) carrier['tracestate'] = event.tracestate;
  return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

function recordSpans(tracer: Tracer, event: RequestFinished, toolCalls: readonly ToolCall[]): void {
  const path = event.path.split('?')[0] ?? event.path;
  const span = tracer.startSpan(
    `${event.method} ${path}`,
    { kind: SpanKind.SERVER, startTime: event.startedAt, attributes: requestAttributes(event, path) },
    callerContext(event),
  );
  if (event.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: event.errorCode ?? String(event.status) });
  const parent = trace.setSpan(ROOT_CONTEXT, span);
  const last = event.attempts.length - 1;
  event.attempts.forEach((attempt, index) => recordAttempt(tracer, parent, event, attempt, index === last));
  for (const call of toolCalls) recordToolCall(tracer, parent, call);
  span.end(event.startedAt + event.durationMs);
}

/** GenAI's execute_tool span for one MCP tool call the tool loop ran. */
function recordToolCall(tracer: Tracer, parent: Context, { event, endedAt }: ToolCall): void {
  const attributes: Attributes = {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': event.tool,
    'gen_ai.tool.type': 'extension',
    'lightport.mcp.server': event.server,
    'lightport.mcp.outcome': event.outcome,
  };
  const span = tracer.startSpan(
    `execute_tool ${event.tool}`,
    { kind: SpanKind.INTERNAL, startTime: endedAt - event.durationMs, attributes },
    parent,
  );
  if (event.outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: event.outcome });
  span.end(endedAt);
}

function recordAttempt(tracer: Tracer, parent: Context, event: RequestFinished, attempt: AttemptFinished, last: boolean): void {
  const startTime = event.startedAt + attempt.startMs;
  const attributes: Attributes = {
    'gen_ai.operation.name': event.operation ?? 'chat',
    'gen_ai.provider.name': attempt.providerType,
    'gen_ai.request.model': attempt.upstreamModel,
    'lightport.provider': attempt.provider,
    'lightport.target': attempt.target,
    'lightport.attempt': attempt.attempt,
    'lightport.attempt.retry': attempt.retry,
    'lightport.attempt.fallback': attempt.fallback,
  };
  if (attempt.status !== undefined) attributes['http.response.status_code'] = attempt.status;
  if (attempt.errorClass !== undefined) attributes['error.type'] = attempt.errorClass;
  if (last && event.usage) {
    attributes['gen_ai.usage.input_tokens'] = event.usage.prompt_tokens;
    attributes['gen_ai.usage.output_tokens'] = event.usage.completion_tokens;
  }
  const span = tracer.startSpan(
    `${event.operation ?? 'chat'} ${attempt.upstreamModel}`,
    { kind: SpanKind.CLIENT, startTime, attributes },
    parent,
  );
  if (attempt.errorClass !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: attempt.errorClass });
  span.end(startTime + attempt.durationMs);
}

function requestAttributes(event: RequestFinished, path: string): Attributes {
  const attributes: Attributes = {
    'http.request.method': event.method,
    'url.path': path,
    'http.response.status_code': event.status,
    'lightport.request_id': event.requestId,
    'lightport.overhead_ms': Math.max(0, event.durationMs - event.upstreamMs),
  };
  if (event.operation !== undefined) attributes['gen_ai.operation.name'] = event.operation;
  if (event.model !== undefined) attributes['gen_ai.request.model'] = event.model;
  if (event.providerType !== undefined) attributes['gen_ai.provider.name'] = event.providerType;
  if (event.usage) {
    attributes['gen_ai.usage.input_tokens'] = event.usage.prompt_tokens;
    attributes['gen_ai.usage.output_tokens'] = event.usage.completion_tokens;
  }
  if (event.costUsd !== undefined) attributes['lightport.cost_usd'] = event.costUsd;
  if (event.errorCode !== undefined) attributes['error.type'] = event.errorCode;
  return attributes;
}
