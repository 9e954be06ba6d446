import type { WireFormat } from '../../pipeline/wire-format.ts';

/**
 * The Responses API writes errors in OpenAI's shape; its stream errors are `error` events, numbered
 * after the stream's last event (`sequenceNumber`) when the stream was numbered.
 */
export function responsesStreamError(message: string, code: string, sequenceNumber?: number): string {
  const error = { type: 'server_error', code, message, param: null };
  const data =
    sequenceNumber === undefined
      ? { type: 'error', code, message, param: null, error }
      : { type: 'error', sequence_number: sequenceNumber, code, message, param: null, error };
  return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
}

export const RESPONSES_FORMAT: WireFormat = { errorBody: (_status, error) => ({ error }), streamError: responsesStreamError };
