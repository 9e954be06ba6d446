import type { AttemptOutcome } from '../providers/types.ts';
import { GatewayError, type GatewayErrorCode } from '../server/errors.ts';
import { sendErrorAnswer } from '../server/respond.ts';
import { sseError } from '../server/sse.ts';
import { abortReason, type RequestContext } from './context.ts';

/**
 * Turns the outcome that ends a request into its response: nothing more for a success,
 * an error body before the first byte, an SSE error event (or a cut connection for JSON)
 * after it.
 */
export function finish(context: RequestContext, outcome: AttemptOutcome): void {
  const { res } = context;
  switch (outcome.kind) {
    case 'ok':
      return;
    case 'upstream_error': {
      const headers = outcome.retryAfter === undefined ? context.headers : { ...context.headers, 'retry-after': outcome.retryAfter };
      context.errorCode = outcome.body.error.code ?? outcome.body.error.type;
      context.errorBody = outcome.body;
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
      else endBroken(context, 'The request deadline passed before the answer was complete.', 'upstream_timeout');
      return;
    }
  }
}

/**
 * A stream that cannot go on ends with an error event, never silently; a JSON body is cut. The
 * stream so far is whole events (a relay holds back one the upstream cut short; translators write
 * whole ones), so the error event stands alone for the caller's SSE parser.
 */
function endBroken(context: RequestContext, message: string, code: GatewayErrorCode = 'upstream_error'): void {
  const { res } = context;
  if (!res.headersSent) {
    sendGatewayError(context, new GatewayError(code, message));
    return;
  }
  context.errorCode = code;
  if (context.streaming) res.end(context.format === undefined ? sseError(message, code) : context.format.streamError(message, code));
  else res.destroy();
}

/** A gateway error answering the request, in the caller's API's shape (OpenAI's unless an ingress adapter chose another). */
export function sendGatewayError(context: RequestContext, error: GatewayError): void {
  const body = error.toBody();
  context.errorCode = error.code;
  context.errorBody = body;
  sendErrorAnswer(context, { status: error.status, body });
}
