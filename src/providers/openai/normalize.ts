import type { AnswerTranslator } from '../http-transport.ts';
import type { TokenUsage } from '../types.ts';
import { SSE_DONE } from '../../server/sse.ts';
import { SSE_CONTENT_TYPE } from '../translate/openai-output.ts';
import { isRecord } from '../translate/request-parts.ts';
import { cutStream, jsonBodyTranslator, sseReader } from '../translate/translators.ts';
import { usageFromText } from './usage.ts';
import { mapUpstreamError, type UpstreamErrorOutcome } from '../upstream-errors.ts';

/**
 * For OpenAI-like upstreams whose streams OpenAI clients trip on: tool-call deltas without
 * `index` or `type` (Mistral), usage in `x_groq` or on the finish chunk, a missing `[DONE]`.
 * Each chunk is parsed, fixed and written again; a passthrough provider never comes here.
 */
export function normalizedStream(includeUsage: boolean): AnswerTranslator {
  const toolIndexes = new Map<string, number>();
  let lastToolIndex = -1;
  let usage: TokenUsage | undefined;
  let usageChunk: Record<string, unknown> | undefined;
  /** By choice index: false once the choice started, true once it has its finish_reason. */
  const choicesFinished: boolean[] = [];
  let openChoices = 0;
  let finished = false;
  let done = false;
  let failure: UpstreamErrorOutcome | undefined;

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

  const onChunk = (data: string): string => {
    if (data === '[DONE]') {
      done = true;
      return '';
    }
    const chunk: unknown = JSON.parse(data);
    if (!isRecord(chunk)) return '';
    // The upstream's own error event ends the stream: its error, not a cut stream's, is the caller's.
    if (isRecord(chunk['error'])) {
      failure = mapUpstreamError(500, data, {});
      return '';
    }
    const xGroq = chunk['x_groq'];
    const reported = chunk['usage'] ?? (isRecord(xGroq) ? xGroq['usage'] : undefined);
    if (isRecord(reported)) {
      usage = usageFromText(JSON.stringify(reported)) ?? usage;
      usageChunk = { ...chunk, choices: [], usage: reported };
    }
    delete chunk['usage'];
    const choices = Array.isArray(chunk['choices']) ? chunk['choices'] : [];
    for (const choice of choices) {
      if (!isRecord(choice)) continue;
      if (isRecord(choice['delta'])) fixToolCalls(choice['delta']);
      const index = typeof choice['index'] === 'number' ? choice['index'] : 0;
      if (choicesFinished[index] === undefined) {
        choicesFinished[index] = false;
        openChoices++;
      }
      if (choice['finish_reason'] && choicesFinished[index] === false) {
        choicesFinished[index] = true;
        openChoices--;
        finished = true;
      }
    }
    return choices.length > 0 ? `data: ${JSON.stringify(chunk)}\n\n` : '';
  };

  const reader = sseReader((_name, data) => onChunk(data));
  return {
    contentType: SSE_CONTENT_TYPE,
    push: (chunk) => reader.push(chunk),
    end() {
      const out = reader.flush();
      // Complete with [DONE], or (for servers that never send it) with every choice it started finished.
      if (!done && (!finished || openChoices > 0)) {
        failure ??= cutStream();
        return '';
      }
      return out + (includeUsage && usageChunk ? `data: ${JSON.stringify(usageChunk)}\n\n` : '') + SSE_DONE;
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
  return jsonBodyTranslator((body) => {
    if (!isRecord(body)) throw new Error('not a chat completion');
    for (const choice of Array.isArray(body['choices']) ? body['choices'] : []) {
      const message = isRecord(choice) ? choice['message'] : undefined;
      if (!isRecord(message) || !Array.isArray(message['tool_calls'])) continue;
      if (message['tool_calls'].length === 0) delete message['tool_calls'];
      else for (const call of message['tool_calls']) if (isRecord(call)) call['type'] ??= 'function';
    }
    const text = JSON.stringify(body);
    return { body: text, usage: isRecord(body['usage']) ? usageFromText(JSON.stringify(body['usage'])) : undefined };
  });
}
