import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { AnswerTranslator } from '../http-transport.ts';
import { mapUpstreamError } from '../upstream-errors.ts';
import { SSE_CONTENT_TYPE } from '../translate/openai-output.ts';
import { isRecord } from '../translate/request-parts.ts';
import { StreamDialect } from '../translate/translators.ts';
import { BEDROCK_JSON_TOOL } from './request.ts';
import { converseFinishReason, converseUsage, reasoningBlockOf } from './response.ts';
import { Buffer } from 'node:buffer';

const EXCEPTION_STATUS: Record<string, number> = {
  throttlingException: 429,
  serviceUnavailableException: 503,
  modelStreamErrorException: 424,
  validationException: 400,
  internalServerException: 500,
  modelTimeoutException: 408,
};

/** ConverseStream events, keyed by their `:event-type` header, → OpenAI chunks. */
export class ConverseStream extends StreamDialect {
  #stopped = false;
  #metered = false;
  /** Reasoning blocks being streamed, by content-block index: passed on whole (signed, or redacted) when they stop. */
  readonly #reasoning = new Map<number, { text: string; signature: string; redacted: string[] }>();

  constructor(model: string, includeUsage: boolean, jsonMode: boolean) {
    super(model, includeUsage, jsonMode ? BEDROCK_JSON_TOOL : undefined);
  }

  event(name: string | undefined, data: string): string {
    const event: unknown = JSON.parse(data);
    if (!isRecord(event)) return '';
    const index = Number(event['contentBlockIndex'] ?? 0);
    switch (name) {
      case 'messageStart':
        return this.writer.begin();
      case 'contentBlockStart':
        return this.#blockStart(index, event['start']);
      case 'contentBlockDelta':
        return this.#blockDelta(index, event['delta']);
      case 'contentBlockStop':
        return this.#blockStop(index);
      case 'messageStop': {
        this.#stopped = true;
        this.stopWith(converseFinishReason(event['stopReason']));
        return this.#metered ? this.finish() : '';
      }
      case 'metadata':
        this.#metered = true;
        this.usage = converseUsage(event['usage']) ?? this.usage;
        return this.#stopped ? this.finish() : '';
      default:
        return '';
    }
  }

  exception(type: string, data: string): string {
    return this.fail(mapUpstreamError(EXCEPTION_STATUS[type] ?? 500, data, { 'x-amzn-errortype': type }));
  }

  /** messageStop ends the answer; metadata (usage) may come before or after it, or not at all. */
  override close(): string {
    if (this.#stopped && !this.writer.finished) return this.finish();
    return super.close();
  }

  #blockStart(index: number, start: unknown): string {
    const use = isRecord(start) ? start['toolUse'] : undefined;
    if (!isRecord(use)) return '';
    return this.openToolBlock(index, String(use['toolUseId']), String(use['name']));
  }

  #blockDelta(index: number, delta: unknown): string {
    if (!isRecord(delta)) return '';
    if (typeof delta['text'] === 'string') return this.writer.text(delta['text']);
    const use = delta['toolUse'];
    if (isRecord(use)) return this.toolBlockInput(index, String(use['input'] ?? ''));
    const thought = delta['reasoningContent'];
    return isRecord(thought) ? this.#reasoningDelta(index, thought) : '';
  }

  /** One of a reasoning block's deltas (a union): a piece of its text, of its signature, or of its redacted bytes. */
  #reasoningDelta(index: number, delta: Record<string, unknown>): string {
    let block = this.#reasoning.get(index);
    if (block === undefined) this.#reasoning.set(index, (block = { text: '', signature: '', redacted: [] }));
    if (typeof delta['signature'] === 'string') block.signature += delta['signature'];
    if (typeof delta['redactedContent'] === 'string') block.redacted.push(delta['redactedContent']);
    if (typeof delta['text'] !== 'string') return '';
    block.text += delta['text'];
    return this.writer.reasoning(delta['text']);
  }

  #blockStop(index: number): string {
    const block = this.#reasoning.get(index);
    if (block === undefined) return this.endToolCall(index);
    this.#reasoning.delete(index);
    const whole = reasoningBlockOf(
      block.redacted.length > 0
        ? { redactedContent: joinBase64(block.redacted) }
        : { reasoningText: { text: block.text, signature: block.signature } },
    );
    return whole === undefined ? '' : this.writer.thinkingBlock(whole);
  }
}

/** Pieces of bytes, each base64 on its own, as one base64 text (one piece, the usual case, as it came). */
function joinBase64(pieces: readonly string[]): string {
  return pieces.length === 1 ? (pieces[0] ?? '') : Buffer.concat(pieces.map((piece) => Buffer.from(piece, 'base64'))).toString('base64');
}

const PRELUDE_BYTES = 4;

/** AWS event-stream binary frames, split as they arrive and decoded (checksums included) by the smithy codec. */
export function eventStreamTranslator(dialect: ConverseStream): AnswerTranslator {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  let pending: Buffer = Buffer.alloc(0);
  const decodeReady = (): string => {
    let out = '';
    while (pending.length >= PRELUDE_BYTES && dialect.failure === undefined) {
      const length = pending.readUInt32BE(0);
      if (pending.length < length) break;
      const message = codec.decode(pending.subarray(0, length));
      pending = pending.subarray(length);
      const header = (name: string): string => String(message.headers[name]?.value ?? '');
      const body = toUtf8(message.body);
      out +=
        header(':message-type') === 'event'
          ? dialect.event(header(':event-type'), body)
          : dialect.exception(header(':exception-type'), body);
    }
    return out;
  };
  return {
    contentType: SSE_CONTENT_TYPE,
    push(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      return decodeReady();
    },
    end() {
      return decodeReady() + dialect.close();
    },
    get usage() {
      return dialect.usage;
    },
    get failure() {
      return dialect.failure;
    },
  };
}
