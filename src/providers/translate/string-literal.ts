/**
 * The JSON string literal between `prefix` and `suffix` when `data` is exactly that, cut out
 * without parsing: the hot text-delta events of a stream carry their text as one literal that
 * can be pasted into the translated event as it is. Any other spelling returns undefined.
 */
export function stringLiteralBetween(data: string, prefix: string, suffix: string): string | undefined {
  const start = data.indexOf(prefix);
  if (start === -1 || !data.endsWith(suffix)) return undefined;
  const from = start + prefix.length;
  const to = data.length - suffix.length;
  // One whole JSON string: the literal that opens right after the prefix closes right before the suffix.
  return to - from >= 2 && endOfStringLiteral(data, from) === to ? data.slice(from, to) : undefined;
}

/** Where the JSON string literal that opens at `start` ends (the index after its closing quote), or -1. */
export function endOfStringLiteral(data: string, start: number): number {
  if (data.charCodeAt(start) !== 34 /* " */) return -1;
  let quote = data.indexOf('"', start + 1);
  while (quote !== -1) {
    let backslashes = 0;
    while (data.charCodeAt(quote - 1 - backslashes) === 92 /* \ */) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    quote = data.indexOf('"', quote + 1);
  }
  return -1;
}
