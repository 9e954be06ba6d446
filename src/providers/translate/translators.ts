import { createParser } from 'eventsource-parser';
import type { AnswerTranslator } from '../http-transport.ts';
import type { UpstreamErrorOutcome } from '../upstream-errors.ts';
import type { TokenUsage } from '../types.ts';
import { ChunkWriter, completionJson, JSON_CONTENT_TYPE, SSE_CONTENT_TYPE, type AnswerOut, type FinishReason } from './openai-output.ts';

/** State every translated stream shares: the chunk writer, usage, finish reason, a failure. */
export abstract class StreamDialect {
  readonly writer: ChunkWriter;
  usage: TokenUsage | undefined;
  failure: UpstreamErrorOutcome | undefined;
  finishReason: FinishReason | undefined;
  /** Provider content-block index → OpenAI tool-call index. */
  readonly toolIndexes = new Map<number | string, number>();
  readonly #withArguments = new Set<number | string>();

  constructor(model: string, includeUsage: boolean) {
    this.writer = new ChunkWriter(model, includeUsage);
  }

  /** One upstream event (an SSE event, or one decoded binary frame); returns OpenAI SSE text. */
  abstract event(name: string | undefined, data: string): string;

  startToolCall(key: number | string, id: string, name: string, args = ''): string {
    const index = this.toolIndexes.size;
    this.toolIndexes.set(key, index);
    if (args !== '') this.#withArguments.add(key);
    return this.writer.toolCallStart(index, id, name, args);
  }

  toolArguments(key: number | string, fragment: string): string {
    const index = this.toolIndexes.get(key);
    if (index === undefined || fragment === '') return '';
    this.#withArguments.add(key);
    return this.writer.toolCallArguments(index, fragment);
  }

  /** A tool call that streamed no arguments at all gets `{}`, so its arguments are always complete JSON. */
  endToolCall(key: number | string): string {
    return this.toolIndexes.has(key) && !this.#withArguments.has(key) ? this.toolArguments(key, '{}') : '';
  }

  /** Ends the OpenAI stream (once); the finish reason becomes tool_calls when tools were called. */
  finish(reason: FinishReason | undefined = this.finishReason): string {
    const finalReason = reason === 'stop' && this.toolIndexes.size > 0 ? 'tool_calls' : (reason ?? 'stop');
    return this.writer.finish(finalReason, this.usage);
  }

  /** The upstream closed its side; a stream that never reached its end event is a failure, never a clean end. */
  close(): string {
    if (!this.writer.finished) this.failure = cutStream();
    return '';
  }

  fail(failure: UpstreamErrorOutcome): string {
    this.failure = failure;
    return '';
  }
}

export function cutStream(): UpstreamErrorOutcome {
  return {
    kind: 'upstream_error',
    status: 502,
    body: {
      error: {
        message: 'The upstream stream ended before its final event; the answer is incomplete.',
        type: 'server_error',
        param: null,
        code: 'upstream_error',
      },
    },
    errorClass: 'server',
  };
}

/** Incremental SSE → OpenAI SSE: bytes are decoded and parsed as they come, nothing is buffered whole. */
export function sseTranslator(dialect: StreamDialect): AnswerTranslator {
  const decoder = new TextDecoder();
  let out = '';
  const parser = createParser({
    onEvent: (message) => {
      if (dialect.failure === undefined) out += dialect.event(message.event, message.data);
    },
  });
  const drain = (): string => {
    const ready = out;
    out = '';
    return ready;
  };
  return {
    contentType: SSE_CONTENT_TYPE,
    push(chunk) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      return drain();
    },
    end() {
      // A last event without its blank line still counts, as browsers' EventSource does not, but providers rely on.
      parser.feed(decoder.decode() + '\n\n');
      return drain() + dialect.close();
    },
    get usage() {
      return dialect.usage;
    },
    get failure() {
      return dialect.failure;
    },
  };
}

/** A whole JSON answer: collected, parsed once, written as one `chat.completion`. */
export function jsonTranslator(read: (body: unknown) => AnswerOut): AnswerTranslator {
  const chunks: Buffer[] = [];
  let usage: TokenUsage | undefined;
  return {
    contentType: JSON_CONTENT_TYPE,
    push(chunk) {
      chunks.push(chunk);
      return '';
    },
    end() {
      const answer = read(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      usage = answer.usage;
      return completionJson(answer);
    },
    get usage() {
      return usage;
    },
    failure: undefined,
  };
}

/** Any JSON answer that is not a chat completion (embeddings): collected, read, rewritten. */
export function jsonBodyTranslator(read: (body: unknown) => { body: unknown; usage?: TokenUsage }): AnswerTranslator {
  const chunks: Buffer[] = [];
  let usage: TokenUsage | undefined;
  return {
    contentType: JSON_CONTENT_TYPE,
    push(chunk) {
      chunks.push(chunk);
      return '';
    },
    end() {
      const result = read(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      usage = result.usage;
      return JSON.stringify(result.body);
    },
    get usage() {
      return usage;
    },
    failure: undefined,
  };
}
