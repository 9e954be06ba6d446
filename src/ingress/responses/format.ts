import type { WireFormat } from '../../pipeline/wire-format.ts';

/** The Responses API writes errors in OpenAI's shape; its stream errors are `error` events. */
export function responsesStreamError(message: string, code: string): string {
  const data = { type: 'error', code, message, param: null, error: { type: 'server_error', code, message, param: null } };
  return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
}

export const RESPONSES_FORMAT: WireFormat = { errorBody: (_status, error) => ({ error }), streamError: responsesStreamError };
