import { anthropicUsage } from './anthropic/response.ts';
import type { RelayRequest, TokenUsage } from './types.ts';
import { firstUsageText, lastUsageText, responsesUsageFromText, usageFromTail } from './openai/usage.ts';

type UsageReader = (tail: readonly Buffer[], head: readonly Buffer[]) => TokenUsage | undefined;

/**
 * How the usage of a relayed answer is read without parsing it: from the usage object in its
 * last bytes (a Responses answer's, or `response.completed`'s; a completion's) and, for an
 * Anthropic stream, the input counted in `message_start` at its start.
 */
export function relayUsageReader(request: RelayRequest): { readUsage?: UsageReader } {
  if (request.method !== 'POST') return {};
  switch (request.api) {
    case 'openai-completions':
      return { readUsage: usageFromTail };
    case 'openai-responses':
      return { readUsage: (tail) => parsed(lastUsageText(tail), responsesUsageFromText) };
    case 'anthropic-messages':
      return { readUsage: request.stream ? anthropicStreamUsage : (tail) => parsed(lastUsageText(tail), anthropicUsageText) };
  }
}

function parsed(text: string | undefined, read: (text: string) => TokenUsage | undefined): TokenUsage | undefined {
  return text === undefined ? undefined : read(text);
}

function anthropicUsageText(text: string): TokenUsage | undefined {
  try {
    return anthropicUsage(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** `message_start` counts the input; the last `message_delta` has the cumulative output (and, lately, the input again). */
function anthropicStreamUsage(tail: readonly Buffer[], head: readonly Buffer[]): TokenUsage | undefined {
  const start = parsed(firstUsageText(head), anthropicUsageText);
  const endText = lastUsageText(tail);
  const end = parsed(endText, anthropicUsageText);
  if (start === undefined || end === undefined || endText === undefined) return end ?? start;
  const input = endText.includes('"input_tokens"') ? end : start;
  return {
    prompt_tokens: input.prompt_tokens,
    completion_tokens: end.completion_tokens,
    total_tokens: input.prompt_tokens + end.completion_tokens,
    ...(input.cached_tokens === undefined ? {} : { cached_tokens: input.cached_tokens }),
    ...(input.cache_write_tokens === undefined ? {} : { cache_write_tokens: input.cache_write_tokens }),
  };
}
