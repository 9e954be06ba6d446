import type { AttemptOptions, AttemptOutcome, ResponseSink } from '../providers/types.ts';
import { attemptFinished, type AttemptFinished } from '../observability/events.ts';
import { GatewayError, type GatewayErrorCode } from '../server/errors.ts';
import { sendErrorAnswer } from '../server/respond.ts';
import { SSE_CONTENT_TYPE, sseError } from '../server/sse.ts';
import { abortReason, type RequestContext } from './context.ts';

export type Attempt = (options: AttemptOptions) => Promise<AttemptOutcome>;

/**
 * Runs one attempt against an upstream, streaming its answer to the client, and turns
 * every other outcome into a well-formed response: an error body before the first byte,
 * an SSE error event (or a cut connection for JSON) after it.
 */
export async function deliver(context: RequestContext, upstreamModel: string, attempt: Attempt, callerApiKey?: string): Promise<void> {
  const sink = responseSink(context);
  const options: AttemptOptions = {
    upstreamModel,
    sink,
    signal: context.abort.signal,
    requestId: context.id,
    ...(callerApiKey === undefined ? {} : { callerApiKey }),
  };
  const startedAt = performance.now();
  const outcome = await attempt(options);
  if (outcome.kind === 'ok' && outcome.usage) context.usage = outcome.usage;
  if (attemptFinished.hasSubscribers) publishAttempt(context, outcome, performance.now() - startedAt);
  finish(context, outcome);
}

function publishAttempt(context: RequestContext, outcome: AttemptOutcome, durationMs: number): void {
  const status = outcome.kind === 'ok' ? context.res.statusCode : outcome.kind === 'upstream_error' ? outcome.status : undefined;
  const event: AttemptFinished = {
    requestId: context.id,
    provider: context.provider ?? '',
    providerType: context.providerType ?? '',
    upstreamModel: context.upstreamModel ?? '',
    outcome: outcome.kind,
    durationMs,
    ...(status === undefined ? {} : { status }),
    ...(outcome.kind === 'upstream_error' && outcome.errorClass !== undefined ? { errorClass: outcome.errorClass } : {}),
  };
  attemptFinished.publish(event);
}

function finish(context: RequestContext, outcome: AttemptOutcome): void {
  const { res } = context;
  switch (outcome.kind) {
    case 'ok':
      return;
    case 'upstream_error': {
      const headers = outcome.retryAfter === undefined ? context.headers : { ...context.headers, 'retry-after': outcome.retryAfter };
      sendErrorAnswer({ res, headers, format: context.format }, outcome);
      return;
    }
    case 'failed':
      sendGatewayError(context, new GatewayError(outcome.code, outcome.message));
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
    sendGatewayError(context, new GatewayError(code, message));
  } else if (context.streaming) {
    res.end(context.format === undefined ? sseError(message, code) : context.format.streamError(message, code));
  } else {
    res.destroy();
  }
}

export function sendGatewayError(context: RequestContext, error: GatewayError): void {
  sendErrorAnswer(context, { status: error.status, body: error.toBody() });
}

function responseSink(context: RequestContext): ResponseSink {
  const { res } = context;
  return {
    start(status, contentType) {
      const streaming = contentType.startsWith('text/event-stream');
      context.streaming = streaming;
      const headers = streaming
        ? { ...context.headers, 'content-type': SSE_CONTENT_TYPE, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }
        : { ...context.headers, 'content-type': contentType };
      res.writeHead(status, headers);
    },
    write: (chunk) => res.write(chunk),
    onDrain: (resume) => void res.once('drain', resume),
    end: () => void res.end(),
  };
}
