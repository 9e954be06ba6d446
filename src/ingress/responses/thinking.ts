import { Buffer } from 'node:buffer';
import { returnableThinkingBlocks } from '../../providers/anthropic/thinking.ts';
import type { ThinkingBlock } from '../../providers/translate/openai-output.ts';
import { GATEWAY_REASONING_ID, type Item } from './items.ts';

/**
 * Claude's signed thinking blocks (a chat answer's `thinking_blocks`), carried in a reasoning
 * item's `encrypted_content`: the Responses API's opaque reasoning, which callers send back in
 * `input` (or the gateway's stored conversation holds) for the next turn, where Claude requires
 * them after tool use. The blocks go as they are, base64 JSON behind this mark: their text is the
 * item's reasoning text already, and Claude checks their signatures, so nothing is to be hidden
 * or signed again here.
 */
const MARK = 'lightport.thinking.v1:';

export function sealThinkingBlocks(blocks: readonly ThinkingBlock[]): string {
  return MARK + Buffer.from(JSON.stringify(blocks)).toString('base64');
}

/** The blocks a reasoning item of the gateway's carries back; none for any other (OpenAI's own, or one altered out of shape). */
export function thinkingBlocksOfItem(item: Item): ThinkingBlock[] {
  const sealed = item['encrypted_content'];
  if (!isSealed(sealed)) return [];
  try {
    return returnableThinkingBlocks(JSON.parse(Buffer.from(sealed.slice(MARK.length), 'base64').toString('utf8')));
  } catch {
    // Unreadable, it carries nothing: the request goes without thinking where Claude would need it.
    return [];
  }
}

/**
 * A reasoning item the gateway made, which OpenAI's Responses API cannot take: it refuses reasoning
 * items it did not issue (an id it does not know, content it cannot decrypt). Those are the ones of
 * chat providers' answers (Claude's thinking, DeepSeek's `reasoning_content`, Gemini's thoughts),
 * told by the gateway's id, or by Claude's sealed blocks (whatever the id, as the gateway's did
 * not always carry a mark). OpenAI's own reasoning items, relayed from it before, are not.
 */
export function isGatewayReasoning(item: Item): boolean {
  if (item['type'] !== 'reasoning') return false;
  const id = item['id'];
  return (typeof id === 'string' && id.startsWith(GATEWAY_REASONING_ID)) || isSealed(item['encrypted_content']);
}

function isSealed(content: unknown): content is string {
  return typeof content === 'string' && content.startsWith(MARK);
}

/** The signed thinking blocks of a chat message or delta (`thinking_blocks`, as Claude's providers give them). */
export function thinkingBlocksIn(part: object | undefined): ThinkingBlock[] {
  return part !== undefined && 'thinking_blocks' in part ? returnableThinkingBlocks(part.thinking_blocks) : [];
}
