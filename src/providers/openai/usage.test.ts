import { describe, expect, it } from 'vitest';
import { lastUsageText, usageFromTail as usageFromChunks } from './usage.ts';

const usageFromTail = (text: string) => usageFromChunks([Buffer.from(text)]);

describe('usageFromTail', () => {
  it('reads usage from the end of a chat.completion body, with cached and reasoning tokens', () => {
    const body = JSON.stringify({
      id: 'x',
      choices: [{ message: { content: 'the "usage": {not this} one' } }],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 5,
        total_tokens: 17,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 2 },
      },
    });
    expect(usageFromTail(body)).toEqual({
      prompt_tokens: 12,
      completion_tokens: 5,
      total_tokens: 17,
      cached_tokens: 4,
      reasoning_tokens: 2,
    });
  });

  it('reads the usage chunk of a stream', () => {
    const stream =
      'data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\ndata: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\ndata: [DONE]\n\n';
    expect(usageFromTail(stream)).toEqual({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 });
  });

  it('returns undefined when there is none or it is cut', () => {
    expect(usageFromTail('data: {"choices":[],"usage":null}\n\n')).toBeUndefined();
    expect(usageFromTail('{"usage":{"prompt_tokens":3,')).toBeUndefined();
    expect(usageFromTail('no usage here')).toBeUndefined();
  });

  it('finds usage split across the last two chunks', () => {
    const text = 'data: {"choices":[],"usage":{"prompt_tokens":30,"completion_tokens":7,"total_tokens":37}}\n\ndata: [DONE]\n\n';
    expect(usageFromChunks([Buffer.from(text.slice(0, 40)), Buffer.from(text.slice(40))])).toEqual({
      prompt_tokens: 30,
      completion_tokens: 7,
      total_tokens: 37,
    });
  });

  it('ignores "usage" inside message text and a null usage', () => {
    expect(usageFromTail('{"choices":[{"message":{"content":"the \\"usage\\": {\\"prompt_tokens\\": 9}"}}],"usage":null}')).toBeUndefined();
  });

  it('reads embeddings usage (no completion tokens)', () => {
    expect(usageFromTail('{"data":[],"usage":{"prompt_tokens":8,"total_tokens":8}}')).toEqual({
      prompt_tokens: 8,
      completion_tokens: 0,
      total_tokens: 8,
    });
  });

  it('reads usage far from the end of a large last chunk, and next to non-ASCII text', () => {
    const usage = { prompt_tokens: 21, completion_tokens: 9, total_tokens: 30 };
    const early = JSON.stringify({ usage, note: 'é'.repeat(3000) + 'x'.repeat(5000) });
    expect(usageFromTail(early)).toEqual(usage);
    const late = JSON.stringify({ choices: [{ message: { content: 'naïve café ☕'.repeat(700) } }], usage });
    expect(usageFromTail(late)).toEqual(usage);
  });

  it('reads only inside the usage object: a count after it belongs to something else', () => {
    const body = '{"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"x_extra":{"cached_tokens":99,"reasoning_tokens":7}}';
    expect(usageFromTail(body)).toEqual({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 });
  });

  it('skips strings inside the usage object, braces, escaped quotes and backslashes included', () => {
    const usage = {
      note: 'a } brace, a \\" quote { and a trailing backslash \\',
      prompt_tokens: 3,
      completion_tokens: 1,
      total_tokens: 4,
      prompt_tokens_details: { cached_tokens: 2, tag: '}}' },
    };
    const body = JSON.stringify({ usage, x_extra: { reasoning_tokens: 7 } });
    expect(usageFromTail(body)).toEqual({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, cached_tokens: 2 });
    expect(JSON.parse(lastUsageText([Buffer.from(body)]) ?? '')).toEqual(usage);
  });

  it('gives the usage text decoded as UTF-8', () => {
    const usage = { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, tier: 'café ☕' };
    expect(lastUsageText([Buffer.from(JSON.stringify({ id: 'x', usage }))])).toBe(JSON.stringify(usage));
  });
});
