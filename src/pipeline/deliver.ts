import type { AttemptOptions, AttemptOutcome } from '../providers/types.ts';
import {
  attemptFinished,
  requestFinished,
  type AttemptFinished,
  type AttemptErrorClass,
  type AttemptRole,
} from '../observability/events.ts';
import { GatewayError, type GatewayErrorCode } from '../server/errors.ts';
import { sendErrorBody } from '../server/respond.ts';
import { sseError } from '../server/sse.ts';
import { ClientResponse } from './client-response.ts';
import { abortReason, type RequestContext } from './context.ts';

export type Attempt = (options: AttemptOptions) => Promise<AttemptOutcome>;

/**
 * Runs one attempt against an upstream, streaming its answer to the client, and turns
 * every other outcome into a well-formed response: an error body before the first byte,
 * an SSE error event (or a cut connection for JSON) after it.
 */
export async function deliver(context: RequestContext, upstreamModel: string, attempt: Attempt, callerApiKey?: string): Promise<void> {
  const sink = new ClientResponse(context);
  const options: AttemptOptions = {
    upstreamModel,
    sink,
    signal: context.abort.signal,
    requestId: context.id,
    ...(callerApiKey === undefined ? {} : { callerApiKey }),
  };
  const startedAt = performance.now();
  const outcome = await attempt(options);
  const durationMs = performance.now() - startedAt;
  context.upstreamMs += durationMs;
  if (requestFinished.hasSubscribers || attemptFinished.hasSubscribers) recordAttempt(context, outcome, startedAt, durationMs);
  finish(context, outcome, sink);
}

function recordAttempt(context: RequestContext, outcome: AttemptOutcome, startedAt: number, durationMs: number): void {
  const status = outcome.kind === 'ok' ? context.res.statusCode : outcome.kind === 'upstream_error' ? outcome.status : undefined;
  const errorClass = classify(outcome);
  const provider = context.provider ?? '';
  const upstreamModel = context.upstreamModel ?? '';
  const event: AttemptFinished = {
    requestId: context.id,
    provider,
    providerType: context.providerType ?? '',
    upstreamModel,
    outcome: outcome.kind,
    role: roleOf(context.attempts, provider, upstreamModel),
    startMs: startedAt - context.startedAt,
    durationMs,
    ...(status === undefined ? {} : { status }),
    ...(errorClass === undefined ? {} : { errorClass }),
  };
  (context.attempts ??= []).push(event);
  if (attemptFinished.hasSubscribers) attemptFinished.publish(event);
}

function roleOf(previous: readonly AttemptFinished[] | undefined, provider: string, upstreamModel: string): AttemptRole {
  const last = previous?.at(-1);
  if (last === undefined) return 'first';
  return last.provider === provider && last.upstreamModel === upstreamModel ? 'retry' : 'fallback';
}

function classify(outcome: AttemptOutcome): AttemptErrorClass | undefined {
  switch (outcome.kind) {
    case 'ok':
      return undefined;
    case 'upstream_error':
      if (outcome.errorClass !== undefined) return outcome.errorClass;
      if (outcome.status === 429) return 'rate_limit';
      if (outcome.status === 408 || outcome.status === 504) return 'timeout';
      return outcome.status >= 500 ? 'server' : 'bad_request';
    case 'failed':
      return outcome.code === 'upstream_timeout' ? 'timeout' : outcome.code === 'upstream_unreachable' ? 'unreachable' : 'not_allowed';
    case 'broken':
      return 'broken';
    case 'cancelled':
      return 'cancelled';
  }
}

function finish(context: RequestContext, outcome: AttemptOutcome, sink: ClientResponse): void {
  const { res } = context;
  switch (outcome.kind) {
    case 'ok':
      sink.complete(outcome.usage);
      return;
    case 'upstream_error': {
      const headers = outcome.retryAfter === undefined ? context.headers : { ...context.headers, 'retry-after': outcome.retryAfter };
      context.errorCode = outcome.body.error.code ?? outcome.body.error.type;
      context.errorBody = outcome.body;
      sendErrorBody(res, outcome.status, outcome.body, headers);
      return;
    }
    case 'failed':
      sendFailure(context, new GatewayError(outcome.code, outcome.message));
      return;
    case 'broken':
      endBroken(context, outcome.message);
      return;
    case 'cancelled': {
      const reason = abortReason(context);
      if (reason === 'client_closed') res.destroy();
      else if (reason === 'shutdown') endBroken(context, 'The gateway shut down before the answer was complete.', 'shutting_down');
      else
        endBroken(context, 'The request deadline passed before the answer was complete (server.request_timeout_ms).', 'upstream_timeout');
      return;
    }
  }
}

/** A stream that cannot go on ends with an error event, never silently; a JSON body is cut. */
function endBroken(context: RequestContext, message: string, code: GatewayErrorCode = 'upstream_error'): void {
  const { res } = context;
  if (!res.headersSent) {
    sendFailure(context, new GatewayError(code, message));
    return;
  }
  context.errorCode = code;
  if (context.streaming) res.end(sseError(message, code));
  else res.destroy();
}

/** Sends a gateway error and notes it for the observers. */
export function sendFailure(context: RequestContext, error: GatewayError): void {
  context.errorCode = error.code;
  const body = error.toBody();
  context.errorBody = body;
  sendErrorBody(context.res, error.status, body, context.headers);
}
