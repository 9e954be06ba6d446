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
  /** Streams the whole answer but its finish chunk (no `finish_reason` anywhere), then `data: [DONE]`. */
  | { readonly kind: 'omit_finish' }
  /**
   * Streams this many chunks (or Responses events) of a normal answer, then the API's own error
   * event (chat: `data: {"error":{...}}`; Responses: `event: error`) and ends, as OpenAI does when
   * the model fails mid-answer: no `[DONE]`, no `response.completed`.
   */
  | { readonly kind: 'error_after_chunks'; readonly chunks: number }
  /**
   * Streams this many chunks (or Responses events) of a normal answer, then the first half of the
   * next one (a `data: {...` line cut short, no blank line), then closes the connection or ends the
   * response cleanly: a stream cut in the middle of an event.
   */
  | { readonly kind: 'cut_mid_event'; readonly chunks: number; readonly ending: 'close' | 'end' }
  /** Answers normally after a delay. */
  | { readonly kind: 'delay'; readonly ms: number }
  /**
   * Streams the normal chat answer with CRLF line endings (`\r\n\r\n` between events), as the SSE
   * spec allows and some OpenAI-compatible servers do, each content chunk `intervalMs` after the one
   * before it. Not a fault in the stream, but in what a gateway may expect of it.
   */
  | { readonly kind: 'crlf_events'; readonly intervalMs: number };

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
 * Applies a fault to a chat or Responses request; returns false for `delay`, `omit_done`,
 * `omit_finish`, `crlf_events` and the `..._after_chunks` faults, which the normal answer path
 * carries out (`crlf_events` only for chat).
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
    case 'error_after_chunks':
    case 'cut_mid_event':
    case 'omit_done':
    case 'omit_finish':
    case 'delay':
    case 'crlf_events':
      return false;
  }
}

export interface StreamCut {
  /** How many chunks are sent first (all of them when Infinity). */
  readonly after: number;
  /**
   * Then: close the connection, just stop writing, end the response cleanly without `[DONE]`, or
   * send OpenAI's own error event and end.
   */
  readonly ending: 'close' | 'stall' | 'end' | 'error';
  /** Leave out the chunk with the finish_reason (the rest, `[DONE]` included, as usual). */
  readonly omitFinish?: boolean;
  /** Before the ending, the first half of the next chunk's event (cut mid-event). */
  readonly partial?: boolean;
}

/** The first half of an event's bytes: its `data: {...` line cut short. */
export const halfOf = (event: string): string => event.slice(0, Math.floor(event.length / 2));

/** What a stream cut sends, or how it ends; also read by the Responses API (`createResponse`). */
export function streamCut(fault: UpstreamFault | undefined): StreamCut | undefined {
  switch (fault?.kind) {
    case 'close_after_chunks':
      return { after: fault.chunks, ending: 'close' };
    case 'stall_after_chunks':
      return { after: fault.chunks, ending: 'stall' };
    case 'end_after_chunks':
      return { after: fault.chunks, ending: 'end' };
    case 'error_after_chunks':
      return { after: fault.chunks, ending: 'error' };
    case 'cut_mid_event':
      return { after: fault.chunks, ending: fault.ending, partial: true };
    case 'omit_done':
      return { after: Number.POSITIVE_INFINITY, ending: 'end' };
    case 'omit_finish':
      return { after: Number.POSITIVE_INFINITY, ending: 'end', omitFinish: true };
    default:
      return undefined;
  }
}

/** The error OpenAI streams when the model fails mid-answer, in place of the rest of the answer. */
export const STREAM_ERROR = {
  message: 'The model produced invalid content. Consider modifying your prompt if you are seeing this error persistently.',
  type: 'model_error',
  param: null,
  code: 'invalid_model_output',
} as const;
