import type { OpenAIErrorBody } from '../server/errors.ts';

/**
 * How the caller's API writes errors, when it is not OpenAI's (the default). Ingress adapters
 * set one on the request context, so every error the pipeline sends speaks the caller's API.
 */
export interface WireFormat {
  /** A whole error response's body, from the gateway's OpenAI-shaped error. */
  errorBody(status: number, error: OpenAIErrorBody['error']): unknown;
  /** The last event of a stream that cannot go on. */
  streamError(message: string, code: string): string;
}
