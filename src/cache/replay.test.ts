import { describe, expect, it } from 'vitest';
import { replayAsStream } from './replay.ts';

const contents = (stream: string): string[] =>
  stream
    .split('\n\n')
    .filter((event) => event.startsWith('data: {'))
    .map((event) => (JSON.parse(event.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content)
    .filter((content): content is string => content !== undefined && content !== '');

describe('a cached answer replayed as a stream', () => {
  it('never splits a character made of a surrogate pair across two chunks', () => {
    const text = `${'a'.repeat(255)}😀${'b'.repeat(300)}😀`;
    const completion = {
      id: 'c',
      model: 'm',
      created: 1,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    };
    const parts = contents(replayAsStream(JSON.stringify(completion), false));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.join('')).toBe(text);
    for (const part of parts) expect(part.isWellFormed()).toBe(true);
  });

  it('sends the usage chunk asked for from the usage the upstream reported, when the stored answer carries none', () => {
    const completion = JSON.stringify({
      id: 'c',
      model: 'm',
      created: 1,
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
    });
    const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, cached_tokens: 1 };
    const usageChunk = (stream: string): unknown =>
      stream
        .split('\n\n')
        .filter((event) => event.startsWith('data: {'))
        .map((event) => JSON.parse(event.slice(6)) as { usage?: unknown })
        .find((chunk) => chunk.usage !== undefined)?.usage;
    expect(usageChunk(replayAsStream(completion, true, usage))).toEqual({
      prompt_tokens: 1,
      completion_tokens: 2,
      total_tokens: 3,
      prompt_tokens_details: { cached_tokens: 1 },
    });
    expect(usageChunk(replayAsStream(completion, false, usage))).toBeUndefined();
    expect(usageChunk(replayAsStream(completion, true))).toBeUndefined();
    const own = { prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 };
    const withOwn = JSON.stringify({ ...(JSON.parse(completion) as object), usage: own });
    expect(usageChunk(replayAsStream(withOwn, true, usage))).toEqual(own);
    expect(replayAsStream(completion, true, usage).endsWith('data: [DONE]\n\n')).toBe(true);
  });
});
