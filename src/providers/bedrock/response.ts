import type { TokenUsage } from '../types.ts';
import { makeUsage, type AnswerOut, type FinishReason, type ThinkingBlock, type ToolCallOut } from '../translate/openai-output.ts';
import { isRecord } from '../translate/request-parts.ts';
import { BEDROCK_JSON_TOOL } from './request.ts';

export function converseFinishReason(reason: unknown): FinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      return 'stop';
  }
}

export function converseUsage(usage: unknown): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  const count = (field: string): number => (typeof usage[field] === 'number' ? usage[field] : 0);
  const cached = count('cacheReadInputTokens');
  return makeUsage(count('inputTokens') + cached + count('cacheWriteInputTokens'), count('outputTokens'), { cached });
}

/**
 * A reasoningContent block as the `thinking_blocks` the caller sends back (Claude's, as the
 * Anthropic provider gives them): signed text, or the redacted bytes as Converse's JSON carries
 * them (base64). Unsigned reasoning (other families') cannot go back, and is text only.
 */
export function reasoningBlockOf(content: Record<string, unknown>): ThinkingBlock | undefined {
  const thought = content['reasoningText'];
  if (isRecord(thought) && typeof thought['text'] === 'string' && typeof thought['signature'] === 'string' && thought['signature'] !== '')
    return { type: 'thinking', thinking: thought['text'], signature: thought['signature'] };
  const redacted = content['redactedContent'];
  return typeof redacted === 'string' && redacted !== '' ? { type: 'redacted_thinking', data: redacted } : undefined;
}

export function fromConverseResponse(body: unknown, model: string, jsonMode: boolean): AnswerOut {
  const output = isRecord(body) ? body['output'] : undefined;
  const message = isRecord(output) ? output['message'] : undefined;
  if (!isRecord(body) || !isRecord(message) || !Array.isArray(message['content'])) throw new Error('not a Converse response');
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCallOut[] = [];
  const thinkingBlocks: ThinkingBlock[] = [];
  for (const block of message['content']) {
    if (!isRecord(block)) continue;
    if (typeof block['text'] === 'string') text += block['text'];
    const content = block['reasoningContent'];
    if (isRecord(content)) {
      const thought = content['reasoningText'];
      if (isRecord(thought) && typeof thought['text'] === 'string') reasoning += thought['text'];
      const returnable = reasoningBlockOf(content);
      if (returnable !== undefined) thinkingBlocks.push(returnable);
    }
    const use = block['toolUse'];
    if (isRecord(use)) {
      const args = JSON.stringify(use['input'] ?? {});
      if (jsonMode && use['name'] === BEDROCK_JSON_TOOL) text += args;
      else toolCalls.push({ id: String(use['toolUseId']), name: String(use['name']), arguments: args });
    }
  }
  const finish = converseFinishReason(body['stopReason']);
  return {
    id: `chatcmpl-bedrock-${Date.now().toString(36)}`,
    model,
    text: text === '' && toolCalls.length > 0 ? null : text,
    reasoning,
    ...(thinkingBlocks.length > 0 ? { thinkingBlocks } : {}),
    toolCalls,
    finishReason: jsonMode && finish === 'tool_calls' && toolCalls.length === 0 ? 'stop' : finish,
    usage: converseUsage(body['usage']),
  };
}
