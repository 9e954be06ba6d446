import type { TokenUsage } from '../types.ts';
import { makeUsage, type AnswerOut, type FinishReason, type ToolCallOut } from '../translate/openai-output.ts';
import { isRecord } from '../translate/request-parts.ts';
import { geminiToolCallId } from './request.ts';

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']);

/** Gemini ends tool turns with STOP too; the caller infers tool_calls from the calls. */
export function geminiFinishReason(reason: unknown): FinishReason | undefined {
  if (typeof reason !== 'string' || reason === 'FINISH_REASON_UNSPECIFIED') return undefined;
  if (reason === 'MAX_TOKENS') return 'length';
  return FILTERED.has(reason) ? 'content_filter' : 'stop';
}

/** OpenAI's completion_tokens include reasoning; Gemini counts thoughts apart. */
export function geminiUsage(metadata: unknown): TokenUsage | undefined {
  if (!isRecord(metadata)) return undefined;
  const count = (field: string): number => (typeof metadata[field] === 'number' ? metadata[field] : 0);
  const thoughts = count('thoughtsTokenCount');
  return makeUsage(count('promptTokenCount') + count('toolUsePromptTokenCount'), count('candidatesTokenCount') + thoughts, {
    cached: count('cachedContentTokenCount'),
    reasoning: thoughts,
  });
}

export interface GeminiParts {
  text: string;
  reasoning: string;
  toolCalls: ToolCallOut[];
}

/** Reads one candidate's parts; `firstIndex` numbers tool calls across stream events. */
export function readParts(candidate: unknown, responseId: string, firstIndex: number): GeminiParts {
  const out: GeminiParts = { text: '', reasoning: '', toolCalls: [] };
  const content = isRecord(candidate) ? candidate['content'] : undefined;
  const parts = isRecord(content) && Array.isArray(content['parts']) ? content['parts'] : [];
  for (const part of parts) {
    if (!isRecord(part)) continue;
    if (typeof part['text'] === 'string') {
      if (part['thought'] === true) out.reasoning += part['text'];
      else out.text += part['text'];
    }
    const call = part['functionCall'];
    if (isRecord(call)) {
      const signature = typeof part['thoughtSignature'] === 'string' ? part['thoughtSignature'] : undefined;
      const id = typeof call['id'] === 'string' ? call['id'] : geminiToolCallId(firstIndex + out.toolCalls.length, responseId, signature);
      out.toolCalls.push({ id, name: String(call['name']), arguments: JSON.stringify(call['args'] ?? {}) });
    }
  }
  return out;
}

export function fromGeminiResponse(body: unknown, model: string): AnswerOut {
  if (!isRecord(body)) throw new Error('not a Gemini response');
  const responseId = typeof body['responseId'] === 'string' ? body['responseId'] : '';
  const candidate = Array.isArray(body['candidates']) ? body['candidates'][0] : undefined;
  const parts = readParts(candidate, responseId, 0);
  const blocked = candidate === undefined && isRecord(body['promptFeedback']) && body['promptFeedback']['blockReason'] !== undefined;
  const reason = blocked ? 'content_filter' : (geminiFinishReason(isRecord(candidate) ? candidate['finishReason'] : undefined) ?? 'stop');
  return {
    id: responseId ? `chatcmpl-${responseId}` : 'chatcmpl-gemini',
    model: typeof body['modelVersion'] === 'string' ? body['modelVersion'] : model,
    text: parts.text === '' && parts.toolCalls.length > 0 ? null : parts.text,
    reasoning: parts.reasoning,
    toolCalls: parts.toolCalls,
    finishReason: reason === 'stop' && parts.toolCalls.length > 0 ? 'tool_calls' : reason,
    usage: geminiUsage(body['usageMetadata']),
  };
}
