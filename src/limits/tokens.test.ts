import { describe, expect, it } from 'vitest';
import { estimateChatTokens, estimateEmbeddingTokens, loadTokenCounter, remembered } from './tokens.ts';

describe('token estimates', async () => {
  const count = await loadTokenCounter();

  it('tokenizes a text it has seen once, and answers the same count again', () => {
    const seen: string[] = [];
    const counting = remembered((text) => {
      seen.push(text);
      return text.length;
    });
    const system = 'You are a support agent for Acme. '.repeat(50);
    expect([counting(system), counting('hi'), counting(`${system}`), counting('hi')]).toEqual([system.length, 2, system.length, 2]);
    expect(seen).toEqual([system, 'hi']);
  });

  it('counts text with the o200k tokenizer', () => {
    expect(count('hello world')).toBe(2);
    expect(count('')).toBe(0);
    // A caller's text that looks like a special token is text, not an error.
    expect(count('<|endoftext|> hello world')).toBeGreaterThan(3);
  });

  it('adds the per-message overhead and the completion the request reserves', () => {
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: [{ type: 'text', text: 'hello world' }] },
    ];
    const prompt = estimateChatTokens({ model: 'm', messages }, count);
    // 3 for the reply, 3 per message, then the texts.
    expect(prompt).toBe(3 + 3 + count('You are terse.') + 3 + 2);
    expect(estimateChatTokens({ model: 'm', messages, max_tokens: 100, n: 2 }, count)).toBe(prompt + 200);
    expect(estimateChatTokens({ model: 'm', messages, max_completion_tokens: 50, max_tokens: 100 }, count)).toBe(prompt + 50);
  });

  it('counts each part without text (an image, a file, audio) at a fixed amount', () => {
    const text = { type: 'text', text: 'hello world' };
    const parts = [text, { type: 'image_url', image_url: { url: 'https://x/cat.png' } }, { type: 'file', file: { file_id: 'f' } }];
    expect(estimateChatTokens({ model: 'm', messages: [{ role: 'user', content: parts }] }, count)).toBe(3 + 3 + 2 + 85 + 85);
  });

  it('extrapolates very long texts from their start instead of tokenizing all of them', () => {
    const long = 'the quick brown fox jumps over the lazy dog '.repeat(20_000);
    const estimate = estimateChatTokens({ model: 'm', messages: [{ role: 'user', content: long }] }, count);
    const exact = count(long) + 6;
    expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.01);
  });

  it('counts embedding inputs, text or token arrays', () => {
    expect(estimateEmbeddingTokens({ model: 'e', input: ['hello world', 'hello'] }, count)).toBe(3);
    expect(estimateEmbeddingTokens({ model: 'e', input: [[1, 2, 3], [4]] }, count)).toBe(4);
    expect(estimateEmbeddingTokens({ model: 'e', input: [1, 2, 3] }, count)).toBe(3);
  });
});
