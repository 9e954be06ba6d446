import { describe, expect, it } from 'vitest';
import { assembleStream } from './assemble.ts';

const chunk = (delta: Record<string, unknown>, finish: string | null = null): string =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

describe('a streamed answer assembled for the cache', () => {
  it('is whole with [DONE], or without it once every choice has its finish_reason', () => {
    const answer = chunk({ role: 'assistant', content: 'Hi' }) + chunk({}, 'stop');
    const expected = {
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
    };
    expect(assembleStream(`${answer}data: [DONE]\n\n`)).toMatchObject(expected);
    expect(assembleStream(answer)).toMatchObject(expected);
  });

  it('is nothing when a choice never finished, with or without [DONE]', () => {
    const cut = chunk({ role: 'assistant', content: 'Hi' });
    expect(assembleStream(cut)).toBeUndefined();
    expect(assembleStream(`${cut}data: [DONE]\n\n`)).toBeUndefined();
  });
});
