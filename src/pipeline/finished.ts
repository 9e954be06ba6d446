import { requestFinished, type RequestFinished } from '../observability/events.ts';
import type { RequestContext } from './context.ts';
import { requestHeader } from '../server/request-headers.ts';
import { performance } from 'node:perf_hooks';

/** Tells the observers about a request once its response has closed and the pipeline is done with it. */
export function publishFinished(context: RequestContext): void {
  if (!requestFinished.hasSubscribers) return;
  const { req, res } = context;
  const traceparent = requestHeader(req, 'traceparent');
  const tracestate = requestHeader(req, 'tracestate');
  const event: RequestFinished = {
    requestId: context.id,
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    status: res.statusCode,
    completed: res.writableFinished,
    streaming: context.streaming === true,
    startedAt: performance.timeOrigin + context.startedAt,
    durationMs: performance.now() - context.startedAt,
    upstreamMs: context.upstreamMs,
    attempts: context.attempts ?? [],
    bodyCapture: context.bodyCapture,
    firstByteMs: context.firstByteAt === undefined ? undefined : context.firstByteAt - context.startedAt,
    operation: context.operation,
    model: context.model,
    provider: context.provider,
    providerType: context.providerType,
    upstreamModel: context.upstreamModel,
    usage: context.usage,
    costUsd: context.costUsd,
    errorCode: context.errorCode,
    keyName: context.keyName,
    team: context.key?.team,
    user: context.user,
    traceparent: typeof traceparent === 'string' ? traceparent : undefined,
    tracestate: typeof tracestate === 'string' ? tracestate : undefined,
    requestBody: context.requestBody,
    responseChunks: context.responseChunks,
    errorBody: context.errorBody,
    credentials: context.bodyCapture === 'off' ? undefined : requestCredentials(req),
    mcp: context.mcp,
    cache: context.cache,
  };
  requestFinished.publish(event);
}

/** Headers that carry a caller's key (the auth stage blanks the gateway key it takes; what is left is a provider key). */
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'];

/** The keys the request carried, so an upstream that echoes one in its answer does not put it in a log line or row. */
function requestCredentials(req: RequestContext['req']): string[] | undefined {
  let found: string[] | undefined;
  for (const name of CREDENTIAL_HEADERS) {
    const value = requestHeader(req, name)
      ?.replace(/^(?:bearer|basic|token)\s+/i, '')
      .trim();
    if (value) (found ??= []).push(value);
  }
  return found;
}
