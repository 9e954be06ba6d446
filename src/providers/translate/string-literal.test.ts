import { describe, expect, it } from 'vitest';
import { endOfStringLiteral, stringLiteralBetween } from './string-literal.ts';

describe('JSON string literals cut out without parsing', () => {
  it('finds where a literal ends, past escaped quotes and escaped backslashes', () => {
    for (const text of ['plain', 'say "hi"', 'a\\', 'a\\"b', '\\\\"', 'é 😀 \n \u2028']) {
      const literal = JSON.stringify(text);
      expect(endOfStringLiteral(`${literal},"next":1}`, 0)).toBe(literal.length);
    }
    expect(endOfStringLiteral('"never closed\\"', 0)).toBe(-1);
    expect(endOfStringLiteral('not a literal', 0)).toBe(-1);
  });

  it('takes the literal between a prefix and a suffix only when it is exactly one whole literal', () => {
    const event = (literal: string) => `{"delta":{"text":${literal}}}`;
    expect(stringLiteralBetween(event(JSON.stringify('a "b" \\')), '"text":', '}}')).toBe(JSON.stringify('a "b" \\'));
    expect(stringLiteralBetween(event('"a","more":"b"'), '"text":', '}}')).toBeUndefined();
    expect(stringLiteralBetween(event('12'), '"text":', '}}')).toBeUndefined();
    expect(stringLiteralBetween('{"other":1}', '"text":', '}}')).toBeUndefined();
  });
});
