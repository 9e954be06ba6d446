import type { IncomingMessage, ServerResponse } from 'node:http';
import { openAIError, rateLimited, serverError, type OpenAIError } from './openai-errors.ts';
import { openAIHeaders, sendError } from './openai-http.ts';

/** Ways a fake upstream can be told to misbehave, as real ones do. */
export type UpstreamFault =
  | { readonly kind: 'status'; readonly error: OpenAIError }
  /** Accepts the request and never answers. */
  | { readonly kind: 'hang' }
  /** Resets the connection without answering. */
  | { readonly kind: 'reset' }
  /** Sends 200 and its headers, then closes the connection before any body byte. */
  | { readonly kind: 'headers_then_close' }
  /** Streams this many chunks of a normal answer, then closes the connection. */
  | { readonly kind: 'close_after_chunks'; readonly chunks: number }
  /** Streams this many chunks of a normal answer, then goes silent with the connection open. */
  | { readonly kind: 'stall_after_chunks'; readonly chunks: number }
  /** Streams this many chunks of a normal answer, then ends the response cleanly: no finish chunk, no `[DONE]`. */
  | { readonly kind: 'end_after_chunks'; readonly chunks: number }
  /** Streams the whole answer, its finish chunk included, and ends without `data: [DONE]`, as some OpenAI-compatible servers do. */
  | { readonly kind: 'omit_done' }
  /** Answers normally after a delay. */
  | { readonly kind: 'delay'; readonly ms: number };

export const FAULTS = {
  tooManyRequests: (retryAfterSeconds?: number): UpstreamFault => {
    const error = rateLimited('gpt-4o-mini');
    const headers = { ...error.headers };
    if (retryAfterSeconds === undefined) delete headers['retry-after'];
    else headers['retry-after'] = String(retryAfterSeconds);
    return { kind: 'status', error: { ...error, headers } };
  },
  unavailable: (): UpstreamFault => ({
    kind: 'status',
    error: openAIError(503, 'The engine is currently overloaded, please try again later.', { type: 'server_error' }),
  }),
  serverError: (): UpstreamFault => ({ kind: 'status', error: serverError }),
  contextLength: (): UpstreamFault => ({
    kind: 'status',
    error: openAIError(
      400,
      "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.",
      { param: 'messages', code: 'context_length_exceeded' },
    ),
  }),
  unauthorized: (): UpstreamFault => ({
    kind: 'status',
    error: openAIError(
      401,
      'Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys.',
      {
        code: 'invalid_api_key',
      },
    ),
  }),
} as const;

/**
 * Applies a fault to a chat request; returns false for `delay`, `omit_done` and the
 * `..._after_chunks` faults, which the normal answer path carries out.
 */
export function applyFault(fault: UpstreamFault, req: IncomingMessage, res: ServerResponse, stream: boolean): boolean {
  switch (fault.kind) {
    case 'status':
      sendError(res, fault.error);
      return true;
    case 'hang':
      return true;
    case 'reset':
      req.socket.resetAndDestroy();
      return true;
    case 'headers_then_close':
      res.writeHead(200, openAIHeaders(stream ? 'text/event-stream; charset=utf-8' : 'application/json'));
      res.flushHeaders();
      setTimeout(() => res.socket?.destroy(), 20);
      return true;
    case 'close_after_chunks':
    case 'stall_after_chunks':
    case 'end_after_chunks':
    case 'omit_done':
    case 'delay':
      return false;
  }
}
