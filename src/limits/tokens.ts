import type { ChatRequest, EmbeddingsRequest } from '../providers/types.ts';
import { RecentValues } from '../state/recent-values.ts';

export type CountTokens = (text: string) => number;

/**
 * o200k_base: the GPT-4o / o-series encoding; for other providers' models it is an estimate,
 * reconciled after. Special-token text such as `<|endoftext|>` in a message is counted as
 * plain text (as the upstream reads it), never refused. `countStringTokens` does exactly that
 * and skips a per-call scan for special tokens; the public call is the fallback.
 */
export async function loadTokenCounter(): Promise<CountTokens> {
  const { default: encoding, countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
  const plain = (encoding as unknown as { countStringTokens?: (text: string) => number }).countStringTokens;
  if (typeof plain === 'function') return remembered((text) => plain.call(encoding, text));
  const options = { disallowedSpecial: new Set<string>() };
  return remembered((text) => countTokens(text, options));
}

// Counts of texts seen lately, up to this many characters of text in all.
const MOST_REMEMBERED_CHARACTERS = 4 * 1024 * 1024;

/**
 * The counter with the counts of recent texts kept: system prompts, few-shot examples and tool
 * lists come back request after request, and looking a text up costs a hash of it, a fraction
 * of tokenizing it again.
 */
export function remembered(count: CountTokens): CountTokens {
  const counts = new RecentValues<number>(MOST_REMEMBERED_CHARACTERS);
  return (text) => {
    let tokens = counts.get(text);
    if (tokens === undefined) {
      tokens = count(text);
      counts.set(text, tokens);
    }
    return tokens;
  };
}

/** Before the tokenizer has loaded: the usual four characters a token. */
export const roughCount: CountTokens = (text) => Math.ceil(text.length / 4);

// Past this, the rest of a text is extrapolated from its start: the estimate is reconciled with
// the real usage anyway, and tokenizing a megabyte would cost more than the request's parse.
const MOST_CHARACTERS_COUNTED = 64 * 1024;
// What OpenAI adds around each message and before the reply.
const PER_MESSAGE = 3;
const REPLY_PRIMING = 3;
// An image part at low detail; high detail costs more, and the reconciliation corrects it. Other
// parts without text (a file, audio, a document only its own API reads) count the same.
const PER_PART = 85;

function countText(text: string, count: CountTokens): number {
  if (text.length <= MOST_CHARACTERS_COUNTED) return count(text);
  const counted = count(text.slice(0, MOST_CHARACTERS_COUNTED));
  return Math.ceil((counted * text.length) / MOST_CHARACTERS_COUNTED);
}

function countContent(content: unknown, count: CountTokens): number {
  if (typeof content === 'string') return countText(content, count);
  if (!Array.isArray(content)) return 0;
  let tokens = 0;
  for (const part of content as Array<Record<string, unknown>>) {
    tokens += typeof part['text'] === 'string' ? countText(part['text'], count) : PER_PART;
  }
  return tokens;
}

/** Prompt tokens plus the completion the request reserves (max_tokens × n), as OpenAI's own limiter counts. */
export function estimateChatTokens(request: ChatRequest, count: CountTokens): number {
  let tokens = REPLY_PRIMING;
  for (const message of request.messages) {
    tokens += PER_MESSAGE + countContent(message.content, count);
    if (message.tool_calls !== undefined) tokens += countText(JSON.stringify(message.tool_calls), count);
  }
  if (request.tools !== undefined) tokens += countText(JSON.stringify(request.tools), count);
  const reserved = request['max_completion_tokens'] ?? request['max_tokens'];
  const choices = typeof request['n'] === 'number' ? request['n'] : 1;
  return tokens + (typeof reserved === 'number' ? reserved * choices : 0);
}

export function estimateEmbeddingTokens(request: EmbeddingsRequest, count: CountTokens): number {
  const input = request.input;
  if (typeof input === 'string') return countText(input, count);
  let tokens = 0;
  for (const item of input) {
    if (typeof item === 'string') tokens += countText(item, count);
    else if (typeof item === 'number') tokens += 1;
    else tokens += item.length;
  }
  return tokens;
}
