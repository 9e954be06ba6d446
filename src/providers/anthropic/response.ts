import type { TokenUsage } from '../types.ts';
import { makeUsage, type AnswerOut, type FinishReason, type ThinkingBlock, type ToolCallOut } from '../translate/openai-output.ts';
import { isRecord } from '../translate/request-parts.ts';
import { JSON_TOOL } from './request.ts';
import { thinkingBlockOf } from './thinking.ts';

export function anthropicFinishReason(stopReason: unknown): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** Anthropic counts cache reads and writes apart from input_tokens; OpenAI's prompt_tokens holds all three. */
export function anthropicUsage(usage: unknown): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  const count = (field: string): number => (typeof usage[field] === 'number' ? usage[field] : 0);
  const cached = count('cache_read_input_tokens');
  const cacheWrite = count('cache_creation_input_tokens');
  const prompt = count('input_tokens') + cached + cacheWrite;
  // Cache writes are priced apart (1.25× input), so they are kept for the cost.
  return makeUsage(prompt, count('output_tokens'), cacheWrite > 0 ? { cached, cacheWrite } : { cached });
}

/** A Messages API answer as one provider-neutral answer; JSON mode's forced tool becomes the text. */
export function fromAnthropicMessage(body: unknown, jsonMode: boolean): AnswerOut {
  if (!isRecord(body) || !Array.isArray(body['content'])) throw new Error('not an Anthropic message');
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCallOut[] = [];
  const thinkingBlocks: ThinkingBlock[] = [];
  for (const block of body['content']) {
    if (!isRecord(block)) continue;
    const thinking = thinkingBlockOf(block);
    if (thinking !== undefined) thinkingBlocks.push(thinking);
    if (block['type'] === 'text' && typeof block['text'] === 'string') text += block['text'];
    else if (block['type'] === 'thinking' && typeof block['thinking'] === 'string') reasoning += block['thinking'];
    else if (block['type'] === 'tool_use') {
      const args = JSON.stringify(block['input'] ?? {});
      if (jsonMode && block['name'] === JSON_TOOL) text += args;
      else toolCalls.push({ id: String(block['id']), name: String(block['name']), arguments: args });
    }
  }
  const finish = anthropicFinishReason(body['stop_reason']);
  return {
    id: String(body['id'] ?? 'msg'),
    model: String(body['model'] ?? ''),
    text: text === '' && toolCalls.length > 0 ? null : text,
    reasoning,
    ...(thinkingBlocks.length > 0 ? { thinkingBlocks } : {}),
    toolCalls,
    finishReason: jsonMode && finish === 'tool_calls' && toolCalls.length === 0 ? 'stop' : finish,
    usage: anthropicUsage(body['usage']),
  };
}
