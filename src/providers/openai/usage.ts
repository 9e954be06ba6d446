import type { TokenUsage } from '../types.ts';

const USAGE_KEY = '"usage":';

/**
 * Token usage from the last bytes of an OpenAI-format answer (the JSON body's end, or a
 * stream's final usage chunk). It runs on every response, so it searches the bytes
 * natively, decodes only the usage object and reads its counts by key instead of
 * parsing the answer.
 */
export function usageFromTail(tail: readonly Buffer[]): TokenUsage | undefined {
  const text = lastUsageText(tail);
  return text === undefined ? undefined : usageFromText(text);
}

/** The text of the last `"usage":{...}` object in an answer's last bytes (possibly split over the last two chunks). */
export function lastUsageText(tail: readonly Buffer[]): string | undefined {
  const last = tail.at(-1);
  if (last === undefined) return undefined;
  return usageIn(last, true) ?? (tail.length > 1 ? usageIn(Buffer.concat(tail), true) : undefined);
}

/** The text of the first `"usage":{...}` object in an answer's first bytes. */
export function firstUsageText(head: readonly Buffer[]): string | undefined {
  if (head.length === 0) return undefined;
  return usageIn(head.length === 1 ? (head[0] as Buffer) : Buffer.concat(head), false);
}

/** Where the usage object is looked for first: an answer's usage is in its last few hundred bytes. */
const SEARCH_BYTES = 4096;

function usageIn(bytes: Buffer, last: boolean): string | undefined {
  if (last && bytes.length > SEARCH_BYTES) return usageInRange(bytes, bytes.length - SEARCH_BYTES, true) ?? usageInRange(bytes, 0, true);
  return usageInRange(bytes, 0, last);
}

/**
 * Searches a latin1 view of the bytes from `from` (one character per byte, so indices are byte
 * offsets, and JSON's structure is ASCII): V8's string search and a charCodeAt loop are several
 * times faster than the same work on a Buffer. The object itself is decoded as UTF-8.
 */
function usageInRange(bytes: Buffer, from: number, last: boolean): string | undefined {
  const text = bytes.toString('latin1', from);
  const key = last ? text.lastIndexOf(USAGE_KEY) : text.indexOf(USAGE_KEY);
  if (key === -1) return undefined;
  const start = text.indexOf('{', key + USAGE_KEY.length);
  if (start === -1 || start > key + USAGE_KEY.length + 2) return undefined;
  const end = matchingBrace(text, start);
  return end === -1 ? undefined : bytes.toString('utf8', from + start, from + end + 1);
}

/** Reads an OpenAI usage object's text: counts are unique keys inside it, details included. */
export function usageFromText(text: string): TokenUsage | undefined {
  return usageByKeys(text, '"prompt_tokens":', '"completion_tokens":');
}

/** The Responses API's usage object (`input_tokens`, `output_tokens` and the same details) in chat terms. */
export function responsesUsageFromText(text: string): TokenUsage | undefined {
  return usageByKeys(text, '"input_tokens":', '"output_tokens":');
}

function usageByKeys(text: string, inputKey: string, outputKey: string): TokenUsage | undefined {
  const input = count(text, inputKey);
  if (input === undefined) return undefined;
  const output = count(text, outputKey) ?? 0;
  const usage: { -readonly [K in keyof TokenUsage]: TokenUsage[K] } = {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: count(text, '"total_tokens":') ?? input + output,
  };
  // Assigned rather than spread in: this runs once per answer.
  const cached = count(text, '"cached_tokens":');
  if (cached !== undefined) usage.cached_tokens = cached;
  const reasoning = count(text, '"reasoning_tokens":');
  if (reasoning !== undefined) usage.reasoning_tokens = reasoning;
  return usage;
}

function count(text: string, key: string): number | undefined {
  let index = text.indexOf(key);
  if (index === -1) return undefined;
  index += key.length;
  while (text.charCodeAt(index) === 32) index++;
  let value = 0;
  let digits = 0;
  for (let code = text.charCodeAt(index); code >= 48 && code <= 57; code = text.charCodeAt(++index)) {
    value = value * 10 + (code - 48);
    digits++;
  }
  return digits === 0 ? undefined : value;
}

function matchingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let index = start; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 92 /* \ */) index++;
      else if (code === 34 /* " */) inString = false;
    } else if (code === 34) inString = true;
    else if (code === 123 /* { */) depth++;
    else if (code === 125 /* } */ && --depth === 0) return index;
  }
  return -1;
}
