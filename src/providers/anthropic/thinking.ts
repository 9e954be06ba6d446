import type { ThinkingBlock } from '../translate/openai-output.ts';
import { isRecord } from '../translate/request-parts.ts';

/** A thinking or redacted_thinking block, as it must be sent back: text and signature, or the encrypted data. */
export function thinkingBlockOf(block: unknown): ThinkingBlock | undefined {
  if (!isRecord(block)) return undefined;
  if (block['type'] === 'thinking' && typeof block['thinking'] === 'string' && typeof block['signature'] === 'string')
    return { type: 'thinking', thinking: block['thinking'], signature: block['signature'] };
  if (block['type'] === 'redacted_thinking' && typeof block['data'] === 'string') return { type: 'redacted_thinking', data: block['data'] };
  return undefined;
}
