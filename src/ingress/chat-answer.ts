import type { WireFormat } from '../pipeline/wire-format.ts';
import { SSE_CONTENT_TYPE } from '../server/sse.ts';
import { stringLiteralBetween } from '../providers/translate/string-literal.ts';
import { sseReader } from '../providers/translate/translators.ts';
import type { ResponseSink } from '../providers/types.ts';
import { Buffer } from 'node:buffer';

/** The internal answer's parts an ingress reads: OpenAI's `chat.completion` and `chat.completion.chunk`, as providers write them. */
export interface ChatUsage {
  readonly prompt_tokens?: number;
  readonly completion_tokens?: number;
  readonly total_tokens?: number;
  readonly prompt_tokens_details?: { readonly cached_tokens?: number } | null;
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number } | null;
}

export interface ChatToolCall {
  readonly id: string;
  readonly function: { readonly name: string; readonly arguments: string };
}

export interface ChatCompletion {
  readonly id?: string;
  readonly model?: string;
  readonly choices?: readonly {
    readonly message?: {
      readonly content?: string | null;
      readonly reasoning_content?: string | null;
      readonly tool_calls?: readonly ChatToolCall[];
    };
    readonly finish_reason?: string | null;
  }[];
  readonly usage?: ChatUsage | null;
}

export interface ChatToolCallDelta {
  readonly index: number;
  readonly id?: string;
  readonly function?: { readonly name?: string; readonly arguments?: string };
}

export interface ChatChunk {
  readonly id?: string;
  readonly model?: string;
  readonly choices?: readonly {
    readonly index?: number;
    readonly delta?: {
      readonly content?: string | null;
      readonly reasoning_content?: string | null;
      readonly tool_calls?: readonly ChatToolCallDelta[];
    };
    readonly finish_reason?: string | null;
  }[];
  readonly usage?: ChatUsage | null;
  readonly error?: { readonly message?: string; readonly code?: string | null };
}

/** One ingress API's answer, written from the internal chat answer as it arrives. */
export interface AnswerWriter {
  /** A whole `chat.completion` → this API's JSON body. */
  completion(answer: ChatCompletion): unknown;
  /** One `chat.completion.chunk` → this API's stream events ('' when none yet). */
  chunk(chunk: ChatChunk): string;
  /**
   * The hot chunk, a text delta and nothing else, given as its text's JSON string literal (not
   * parsed); undefined when the writer needs the parsed chunk instead (e.g. before it started).
   */
  textLiteral?(literal: string): string | undefined;
  /** The internal stream ended: this API's closing events, or an error event when the answer never finished. */
  end(): string;
  /** An error inside the stream: this API's error event, which ends it. */
  streamError(message: string, code: string): string;
  /** The code of the error event the stream ended with (an error, or an answer that never finished); undefined otherwise. */
  readonly failure: string | undefined;
}

export const JSON_CONTENT_TYPE = 'application/json';

/**
 * A sink that takes the internal answer (chat JSON or chat SSE, bytes in any pieces) and passes
 * the caller's API's answer on: streams event by event as the bytes come, a JSON answer once whole.
 */
export function translatingSink(client: ResponseSink, writer: AnswerWriter, format: WireFormat): ResponseSink {
  let streaming = false;
  let status = 200;
  let ended = false;
  const body: Buffer[] = [];
  const reader = sseReader((_event, data) => {
    if (ended) return '';
    if (data === '[DONE]') {
      ended = true;
      return writer.end();
    }
    const literal = writer.textLiteral === undefined ? undefined : contentLiteral(data);
    const fast = literal === undefined ? undefined : writer.textLiteral?.(literal);
    if (fast !== undefined) return fast;
    const chunk = JSON.parse(data) as ChatChunk;
    if (chunk.error !== undefined) {
      ended = true;
      return writer.streamError(chunk.error.message ?? 'The upstream failed.', chunk.error.code ?? 'upstream_error');
    }
    return writer.chunk(chunk);
  });
  const send = (text: string): boolean => (text === '' ? true : client.write(text));

  return {
    start(answerStatus, contentType) {
      status = answerStatus;
      streaming = contentType.startsWith('text/event-stream');
      // A JSON answer starts once it is whole and translated, so an unreadable one can still be an error response.
      if (streaming) client.start(status, SSE_CONTENT_TYPE);
    },
    write(chunk) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (!streaming) {
        body.push(bytes);
        return true;
      }
      return send(readStream(() => reader.push(bytes)));
    },
    onDrain: (resume) => client.onDrain(resume),
    end(usage, failure) {
      if (streaming) {
        send(readStream(() => reader.flush()) + (ended ? '' : writer.end()));
        ended = true;
        client.end(usage, writer.failure ?? failure);
        return;
      }
      let text: string;
      try {
        text = JSON.stringify(writer.completion(JSON.parse(Buffer.concat(body).toString('utf8')) as ChatCompletion));
      } catch (error) {
        status = 502;
        const message = `The upstream's answer could not be read: ${error instanceof Error ? error.message : String(error)}`;
        text = JSON.stringify(format.errorBody(status, { message, type: 'server_error', param: null, code: 'upstream_error' }));
      }
      client.start(status, JSON_CONTENT_TYPE);
      client.write(text);
      client.end(status === 502 ? undefined : usage);
    },
  };

  /** An unreadable event ends the stream with this API's error event rather than a thrown exception. */
  function readStream(read: () => string): string {
    if (ended) return '';
    try {
      return read();
    } catch (error) {
      ended = true;
      return writer.streamError(`The upstream's stream could not be read: ${(error as Error).message}`, 'upstream_error');
    }
  }
}

const CONTENT_PREFIX = '"choices":[{"index":0,"delta":{"content":';
const CONTENT_SUFFIX = '},"logprobs":null,"finish_reason":null}]';

/**
 * The text of a chunk that is only a text delta, as OpenAI and the gateway's own translators write
 * it (`..."choices":[{"index":0,"delta":{"content":"..."},"logprobs":null,"finish_reason":null}]}`,
 * maybe with `"usage":null` after), as its JSON string literal; undefined for any other chunk.
 */
function contentLiteral(data: string): string | undefined {
  const end = data.indexOf(CONTENT_SUFFIX);
  if (end === -1) return undefined;
  const rest = data.slice(end + CONTENT_SUFFIX.length);
  if (rest !== '}' && !rest.startsWith(',"usage":null')) return undefined;
  return stringLiteralBetween(data.slice(0, end), CONTENT_PREFIX, '');
}
