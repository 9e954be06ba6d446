import type { ChatCompletionChunk } from 'openai/resources/chat/completions';

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
