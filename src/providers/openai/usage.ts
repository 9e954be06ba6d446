import type { TokenUsage } from '../types.ts';

/**
 * Finds the last `"usage":{...}` object in the tail of an OpenAI-format answer (the
 * JSON body's end, or a stream's final usage chunk) without parsing the whole answer.
 */
export function usageFromTail(tail: string): TokenUsage | undefined {
  const key = tail.lastIndexOf('"usage":');
  if (key === -1) return undefined;
  const start = tail.indexOf('{', key);
  if (start === -1) return undefined;
  const end = matchingBrace(tail, start);
  if (end === -1) return undefined;
  try {
    return toTokenUsage(JSON.parse(tail.slice(start, end + 1)));
  } catch {
    return undefined;
  }
}

export function toTokenUsage(value: unknown): TokenUsage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const usage = value as Record<string, unknown>;
  const prompt = usage['prompt_tokens'];
  const completion = usage['completion_tokens'] ?? 0;
  if (typeof prompt !== 'number' || typeof completion !== 'number') return undefined;
  const total = typeof usage['total_tokens'] === 'number' ? usage['total_tokens'] : prompt + completion;
  const cached = (usage['prompt_tokens_details'] as { cached_tokens?: unknown } | undefined)?.cached_tokens;
  const reasoning = (usage['completion_tokens_details'] as { reasoning_tokens?: unknown } | undefined)?.reasoning_tokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: total,
    ...(typeof cached === 'number' ? { cached_tokens: cached } : {}),
    ...(typeof reasoning === 'number' ? { reasoning_tokens: reasoning } : {}),
  };
}

function matchingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let index = start; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 92 /* \ */) index++;
      else if (char === 34 /* " */) inString = false;
    } else if (char === 34) inString = true;
    else if (char === 123 /* { */) depth++;
    else if (char === 125 /* } */ && --depth === 0) return index;
  }
  return -1;
}
