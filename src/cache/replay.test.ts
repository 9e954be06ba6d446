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
});
