import { describe, expect, it } from 'vitest';
import { normalizedStream } from './normalize.ts';

const chunk = (index: number, delta: Record<string, unknown>, finish: string | null = null): string =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index, delta, finish_reason: finish }] })}\n\n`;

/** Pushes the stream's events one by one and ends it: what the client got, and the failure, if any. */
function run(events: string[]): { text: string; failure: string | undefined } {
  const translator = normalizedStream(false);
  let text = '';
  for (const event of events) text += translator.push(Buffer.from(event));
  text += translator.end();
  return { text, failure: translator.failure?.body.error.message };
}

describe('a normalized OpenAI-like stream', () => {
  it('is complete without [DONE] when its choice finished, and gets [DONE] for its caller', () => {
    const { text, failure } = run([chunk(0, { content: 'Hi' }), chunk(0, {}, 'stop')]);
    expect(failure).toBeUndefined();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it("fails with the upstream's own error when it ends with an error event", () => {
    const error = `data: ${JSON.stringify({ error: { message: 'Service overloaded', type: 'server_error', param: null, code: null } })}\n\n`;
    expect(run([chunk(0, { content: 'Hi' }), error]).failure).toBe('Service overloaded');
  });

  it('is cut with neither [DONE] nor a finish_reason', () => {
    expect(run([chunk(0, { content: 'Hi' })]).failure).toMatch(/ended before its final event/);
  });

  it('is cut without [DONE] while a choice it started has no finish_reason', () => {
    const started = [chunk(0, { content: 'A' }), chunk(1, { content: 'B' }), chunk(0, {}, 'stop')];
    expect(run(started).failure).toMatch(/ended before its final event/);
    expect(run([...started, chunk(1, {}, 'length')]).failure).toBeUndefined();
    expect(run([...started, 'data: [DONE]\n\n']).failure).toBeUndefined();
  });
});
