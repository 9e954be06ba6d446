import type { WireFormat } from '../../pipeline/wire-format.ts';
import { ERROR_CATALOGUE, type GatewayErrorCode } from '../../server/errors.ts';

/** Anthropic's error types by HTTP status (529, "overloaded", reaches callers as 503 from every provider). */
function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
    case 405:
    case 422:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    case 504:
      return 'timeout_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

function statusOfCode(code: string): number {
  return code in ERROR_CATALOGUE ? ERROR_CATALOGUE[code as GatewayErrorCode].status : 500;
}

export function anthropicStreamError(message: string, code: string): string {
  const data = { type: 'error', error: { type: anthropicErrorType(statusOfCode(code)), message } };
  return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Errors as the Messages API writes them: `{"type":"error","error":{"type","message"}}`, and an `error` event in streams. */
export const ANTHROPIC_FORMAT: WireFormat = {
  errorBody: (status, error) => ({ type: 'error', error: { type: anthropicErrorType(status), message: error.message } }),
  streamError: anthropicStreamError,
};
