import type { AnswerTranslator } from '../http-transport.ts';
import type { TokenUsage } from '../types.ts';
import { SSE_DONE } from '../../server/sse.ts';
import { JSON_CONTENT_TYPE, SSE_CONTENT_TYPE } from '../translate/openai-output.ts';
import { isRecord } from '../translate/request-parts.ts';
import { cutStream } from '../translate/translators.ts';
import { createParser } from 'eventsource-parser';
import { toTokenUsage } from './usage.ts';

/**
 * For OpenAI-like upstreams whose streams OpenAI clients trip on: tool-call deltas without
 * `index` or `type` (Mistral), usage in `x_groq` or on the finish chunk, a missing `[DONE]`.
 * Each chunk is parsed, fixed and written again; a passthrough provider never comes here.
 */
export function normalizedStream(includeUsage: boolean): AnswerTranslator {
  const decoder = new TextDecoder();
  const toolIndexes = new Map<string, number>();
  let lastToolIndex = -1;
  let usage: TokenUsage | undefined;
  let usageChunk: Record<string, unknown> | undefined;
  let finished = false;
  let done = false;
  let failure: ReturnType<typeof cutStream> | undefined;
  let out = '';

  const fixToolCalls = (delta: Record<string, unknown>): void => {
    if (!Array.isArray(delta['tool_calls'])) return;
    for (const call of delta['tool_calls']) {
      if (!isRecord(call)) continue;
      const id = typeof call['id'] === 'string' ? call['id'] : undefined;
      if (typeof call['index'] !== 'number') {
        call['index'] = id === undefined ? Math.max(lastToolIndex, 0) : (toolIndexes.get(id) ?? toolIndexes.size);
      }
      if (id !== undefined) {
        toolIndexes.set(id, call['index'] as number);
        call['type'] ??= 'function';
      }
      lastToolIndex = call['index'] as number;
    }
  };

  const onChunk = (data: string): void => {
    if (data === '[DONE]') {
      done = true;
      return;
    }
    const chunk: unknown = JSON.parse(data);
    if (!isRecord(chunk)) return;
    const xGroq = chunk['x_groq'];
    const reported = chunk['usage'] ?? (isRecord(xGroq) ? xGroq['usage'] : undefined);
    if (isRecord(reported)) {
      usage = toTokenUsage(reported) ?? usage;
      usageChunk = { ...chunk, choices: [], usage: reported };
    }
    delete chunk['usage'];
    const choices = Array.isArray(chunk['choices']) ? chunk['choices'] : [];
    for (const choice of choices) {
      if (!isRecord(choice)) continue;
      if (isRecord(choice['delta'])) fixToolCalls(choice['delta']);
      if (choice['finish_reason']) finished = true;
    }
    if (choices.length > 0) out += `data: ${JSON.stringify(chunk)}\n\n`;
  };

  const parser = createParser({ onEvent: (message) => onChunk(message.data) });
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
      parser.feed(decoder.decode() + '\n\n');
      if (!finished && !done) {
        failure = cutStream();
        return '';
      }
      if (includeUsage && usageChunk) out += `data: ${JSON.stringify(usageChunk)}\n\n`;
      return drain() + SSE_DONE;
    },
    get usage() {
      return usage;
    },
    get failure() {
      return failure;
    },
  };
}

/** A whole answer: tool calls get their `type`, usage is read. */
export function normalizedCompletion(): AnswerTranslator {
  const chunks: Buffer[] = [];
  let usage: TokenUsage | undefined;
  return {
    contentType: JSON_CONTENT_TYPE,
    push(chunk) {
      chunks.push(chunk);
      return '';
    },
    end() {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (!isRecord(body)) throw new Error('not a chat completion');
      usage = toTokenUsage(body['usage']);
      for (const choice of Array.isArray(body['choices']) ? body['choices'] : []) {
        const message = isRecord(choice) ? choice['message'] : undefined;
        if (!isRecord(message) || !Array.isArray(message['tool_calls'])) continue;
        if (message['tool_calls'].length === 0) delete message['tool_calls'];
        else for (const call of message['tool_calls']) if (isRecord(call)) call['type'] ??= 'function';
      }
      return JSON.stringify(body);
    },
    get usage() {
      return usage;
    },
    failure: undefined,
  };
}
