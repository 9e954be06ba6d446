import type { TokenUsage } from '../types.ts';
import { Buffer } from 'node:buffer';

const USAGE_KEY = '"usage":';

/**
 * Token usage from the last bytes of an OpenAI-format answer (the JSON body's end, or a
 * stream's final usage chunk). It runs on every response, so it searches the bytes
 * natively and reads the usage object's counts by key, in the latin1 view the search made
 * (keys and digits are ASCII), instead of parsing the answer or decoding the object again.
 */
export function usageFromTail(tail: readonly Buffer[]): TokenUsage | undefined {
  const span = lastUsageSpan(tail);
  return span === undefined ? undefined : usageFromText(span.text.slice(span.start, span.end + 1));
}

/** The text of the last `"usage":{...}` object in an answer's last bytes (possibly split over the last two chunks). */
export function lastUsageText(tail: readonly Buffer[]): string | undefined {
  return decoded(lastUsageSpan(tail));
}

/** The text of the first `"usage":{...}` object in an answer's first bytes. */
export function firstUsageText(head: readonly Buffer[]): string | undefined {
  if (head.length === 0) return undefined;
  return decoded(usageIn(head.length === 1 ? (head[0] as Buffer) : Buffer.concat(head), false));
}

/** A usage object found in `bytes`: `text` is their latin1 view from `from`, the object is `text[start..end]`. */
interface UsageSpan {
  readonly bytes: Buffer;
  readonly from: number;
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

function lastUsageSpan(tail: readonly Buffer[]): UsageSpan | undefined {
  const last = tail.at(-1);
  if (last === undefined) return undefined;
  return usageIn(last, true) ?? (tail.length > 1 ? usageIn(Buffer.concat(tail), true) : undefined);
}

/** The object's text decoded as UTF-8 (strings in it may hold any character). */
function decoded(span: UsageSpan | undefined): string | undefined {
  return span === undefined ? undefined : span.bytes.toString('utf8', span.from + span.start, span.from + span.end + 1);
}

/** Where the usage object is looked for first: an answer's usage is in its last few hundred bytes. */
const SEARCH_BYTES = 4096;

function usageIn(bytes: Buffer, last: boolean): UsageSpan | undefined {
  if (last && bytes.length > SEARCH_BYTES) return usageInRange(bytes, bytes.length - SEARCH_BYTES, true) ?? usageInRange(bytes, 0, true);
  return usageInRange(bytes, 0, last);
}

/**
 * Searches a latin1 view of the bytes from `from` (one character per byte, so indices are byte
 * offsets, and JSON's structure is ASCII): V8's string search is several times faster than the
 * same work on a Buffer.
 */
function usageInRange(bytes: Buffer, from: number, last: boolean): UsageSpan | undefined {
  const text = bytes.toString('latin1', from);
  const key = last ? text.lastIndexOf(USAGE_KEY) : text.indexOf(USAGE_KEY);
  if (key === -1) return undefined;
  const start = text.indexOf('{', key + USAGE_KEY.length);
  if (start === -1 || start > key + USAGE_KEY.length + 2) return undefined;
  const end = matchingBrace(text, start);
  return end === -1 ? undefined : { bytes, from, text, start, end };
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

/**
 * The index of the brace that closes the object opening at `start`. A string is skipped whole,
 * from its opening quote to the next quote not escaped, with a native search: a usage object
 * is mostly keys, and stepping through them character by character cost several times more.
 */
function matchingBrace(text: string, start: number): number {
  let depth = 0;
  for (let index = start; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 34 /* " */) {
      index = closingQuote(text, index);
      if (index === -1) return -1;
    } else if (code === 123 /* { */) depth++;
    else if (code === 125 /* } */ && --depth === 0) return index;
  }
  return -1;
}

/** The quote that ends the string opening at `open`: the next one after an even run of backslashes. */
function closingQuote(text: string, open: number): number {
  let quote = open;
  for (;;) {
    quote = text.indexOf('"', quote + 1);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 92 /* \ */) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
}
