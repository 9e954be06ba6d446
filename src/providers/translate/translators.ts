import { StringDecoder } from 'node:string_decoder';
import { createParser } from 'eventsource-parser';
import type { AnswerTranslator } from '../http-transport.ts';
import type { UpstreamErrorOutcome } from '../upstream-errors.ts';
import type { TokenUsage } from '../types.ts';
import { ChunkWriter, completionJson, JSON_CONTENT_TYPE, SSE_CONTENT_TYPE, type AnswerOut, type FinishReason } from './openai-output.ts';
import { Buffer } from 'node:buffer';

/** State every translated stream shares: the chunk writer, usage, finish reason, a failure. */
export abstract class StreamDialect {
  readonly writer: ChunkWriter;
  usage: TokenUsage | undefined;
  failure: UpstreamErrorOutcome | undefined;
  finishReason: FinishReason | undefined;
  /** Provider content-block index → OpenAI tool-call index. */
  readonly toolIndexes = new Map<number | string, number>();
  readonly #withArguments = new Set<number | string>();
  /** JSON mode answered through a forced tool (Anthropic, Bedrock): that tool's input is the answer text. */
  readonly #jsonTool: string | undefined;
  readonly #jsonBlocks = new Set<number | string>();

  constructor(model: string, includeUsage: boolean, jsonTool?: string) {
    this.writer = new ChunkWriter(model, includeUsage);
    this.#jsonTool = jsonTool;
  }

  /** A tool-use block starts: a tool call, or JSON mode's answer. */
  openToolBlock(key: number | string, id: string, name: string): string {
    if (name !== this.#jsonTool) return this.startToolCall(key, id, name);
    this.#jsonBlocks.add(key);
    return '';
  }

  toolBlockInput(key: number | string, fragment: string): string {
    return this.#jsonBlocks.has(key) ? this.writer.text(fragment) : this.toolArguments(key, fragment);
  }

  /** The provider's stop reason; JSON mode's forced tool call is a plain stop to the caller. */
  stopWith(reason: FinishReason): void {
    this.finishReason = this.#jsonTool !== undefined && reason === 'tool_calls' && this.toolIndexes.size === 0 ? 'stop' : reason;
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

export const CUT_STREAM_MESSAGE = 'The upstream stream ended before its final event; the answer is incomplete.';

export function cutStream(): UpstreamErrorOutcome {
  return {
    kind: 'upstream_error',
    status: 502,
    body: {
      error: {
        message: CUT_STREAM_MESSAGE,
        type: 'server_error',
        param: null,
        code: 'upstream_error',
      },
    },
    errorClass: 'server',
  };
}

/**
 * Incremental SSE reading: bytes are decoded (UTF-8 split anywhere) and parsed as they come;
 * each event's handler output is collected and handed back by the next `push`.
 */
export function sseReader(onEvent: (name: string | undefined, data: string) => string): {
  push(chunk: Buffer): string;
  /** The upstream ended; a last event without its blank line still counts. */
  flush(): string;
} {
  const decoder = new StringDecoder('utf8');
  let out = '';
  const parser = createParser({ onEvent: (message) => (out += onEvent(message.event, message.data)) });
  const drain = (): string => {
    const ready = out;
    out = '';
    return ready;
  };
  return {
    push(chunk) {
      parser.feed(decoder.write(chunk));
      return drain();
    },
    flush() {
      parser.feed(`${decoder.end()}\n\n`);
      return drain();
    },
  };
}

/** Incremental SSE → OpenAI SSE through a provider's stream dialect. */
export function sseTranslator(dialect: StreamDialect): AnswerTranslator {
  const reader = sseReader((name, data) => (dialect.failure === undefined ? dialect.event(name, data) : ''));
  return {
    contentType: SSE_CONTENT_TYPE,
    push: (chunk) => reader.push(chunk),
    end: () => reader.flush() + dialect.close(),
    get usage() {
      return dialect.usage;
    },
    get failure() {
      return dialect.failure;
    },
  };
}

/** A whole JSON answer: collected, parsed once, rewritten in OpenAI's shape. */
export function jsonBodyTranslator(read: (body: unknown) => { body: string; usage?: TokenUsage | undefined }): AnswerTranslator {
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
      return result.body;
    },
    get usage() {
      return usage;
    },
    failure: undefined,
  };
}

/** A whole chat answer, written as one `chat.completion`. */
export function jsonTranslator(read: (body: unknown) => AnswerOut): AnswerTranslator {
  return jsonBodyTranslator((body) => {
    const answer = read(body);
    return { body: completionJson(answer), usage: answer.usage };
  });
}
