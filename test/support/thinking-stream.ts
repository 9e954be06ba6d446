import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions';

/** A thinking block as the gateway hands it out on chat messages and deltas (`thinking_blocks`). */
export interface ThinkingBlock {
  type: string;
  thinking?: string;
  signature?: string;
  data?: string;
}

type ThinkingDelta = { reasoning_content?: string; thinking_blocks?: ThinkingBlock[]; tool_calls?: { id?: string }[] } | undefined;

/** What a streamed chat answer carried: its reasoning text, its thinking blocks and its first tool call's id. */
export async function readThinkingStream(
  stream: AsyncIterable<ChatCompletionChunk>,
): Promise<{ reasoning: string; blocks: ThinkingBlock[]; toolCallId: string }> {
  let reasoning = '';
  const blocks: ThinkingBlock[] = [];
  let toolCallId = '';
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta as ThinkingDelta;
    reasoning += delta?.reasoning_content ?? '';
    blocks.push(...(delta?.thinking_blocks ?? []));
    toolCallId ||= delta?.tool_calls?.[0]?.id ?? '';
  }
  return { reasoning, blocks, toolCallId };
}

/** The first turn of the weather tool loop the thinking tests run. */
export const weatherQuestion: ChatCompletionMessageParam = { role: 'user', content: 'What is the weather in Paris?' };

/** The tool turn of that loop: the assistant's call (with or without its thinking blocks), then the tool's result. */
export function weatherFollowUp(toolCallId: string, thinkingBlocks: ThinkingBlock[] | undefined): ChatCompletionMessageParam[] {
  const assistant = {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: toolCallId, type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
    ...(thinkingBlocks ? { thinking_blocks: thinkingBlocks } : {}),
  } as ChatCompletionMessageParam;
  return [weatherQuestion, assistant, { role: 'tool', tool_call_id: toolCallId, content: 'sunny, 21°C' }];
}
