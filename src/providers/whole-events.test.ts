import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { WholeEvents } from './whole-events.ts';

const events = (newline: string): string =>
  [
    `event: response.created${newline}data: {"type":"response.created","sequence_number":0}${newline}${newline}`,
    `: keep-alive${newline}${newline}`,
    `data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hi\\n\\nthere"}}]}${newline}${newline}`,
    `event: message_stop${newline}data: {"type":"message_stop"}${newline}${newline}`,
    `data: [DONE]${newline}${newline}`,
  ].join('');

/** What the framer passes on for the stream cut into these pieces: each push's output, then what flush gives. */
function frame(text: string, cuts: readonly number[]): { outputs: string[]; held: number[]; rest: string } {
  const framer = new WholeEvents();
  const outputs: string[] = [];
  const held: number[] = [];
  let from = 0;
  let passed = 0;
  for (const cut of [...cuts, text.length]) {
    const out = framer.push(Buffer.from(text.slice(from, cut), 'latin1'));
    outputs.push(out.toString('latin1'));
    passed += out.length;
    from = cut;
    held.push(cut - passed);
  }
  return { outputs, held, rest: framer.flush().toString('latin1') };
}

/** Every way of cutting the text in two and in three (the second cut a few bytes after the first). */
function* cutsOf(text: string): Generator<number[]> {
  for (let first = 0; first <= text.length; first++) {
    yield [first];
    for (let step = 1; step <= 4 && first + step <= text.length; step++) yield [first, first + step];
  }
}

const BLANK_LINE_END = /(?:\n\n|\n\r\n|\r\r)$/;

describe('an event stream passed on in whole events', () => {
  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('passes every byte on, each output ending an event, as soon as its event is whole (%s)', (_name, newline) => {
    const text = events(newline);
    for (const cuts of cutsOf(text)) {
      const { outputs, held, rest } = frame(text, cuts);
      expect(outputs.join('') + rest).toBe(text);
      expect(rest).toBe('');
      for (const output of outputs) if (output !== '') expect(output).toMatch(BLANK_LINE_END);
      // What is held after each piece: exactly the bytes after the last blank line so far.
      [...cuts, text.length].forEach((cut, index) => {
        const prefix = text.slice(0, cut);
        const lf = prefix.lastIndexOf('\n\n');
        const crlf = prefix.lastIndexOf('\n\r\n');
        const lastEnd = Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 3);
        expect(held[index], `cuts ${cuts.join(',')}`).toBe(cut - lastEnd);
      });
    }
  });

  it('passes a CR-only stream on whole, event by event', () => {
    const text = events('\r');
    for (const cuts of cutsOf(text)) {
      const { outputs, rest } = frame(text, cuts);
      expect(outputs.join('') + rest).toBe(text);
      expect(rest).toBe('');
      for (const output of outputs) if (output !== '') expect(output).toMatch(/\r\r\n?$/);
    }
  });

  it('passes a chunk that ends an event as it is, with no copy', () => {
    const framer = new WholeEvents();
    const chunk = Buffer.from('data: {"a":1}\n\n');
    expect(framer.push(chunk)).toBe(chunk);
  });

  it('holds back an event cut short, and gives it up at the end only through flush', () => {
    const framer = new WholeEvents();
    expect(framer.push(Buffer.from('data: {"a":1}\n\ndata: {"b"')).toString()).toBe('data: {"a":1}\n\n');
    expect(framer.push(Buffer.from(':2')).toString()).toBe('');
    expect(framer.flush().toString()).toBe('data: {"b":2');
    expect(framer.flush().length).toBe(0);
  });

  it('passes keep-alive comments on as the events they are', () => {
    const framer = new WholeEvents();
    expect(framer.push(Buffer.from(': keep-alive\n\n')).toString()).toBe(': keep-alive\n\n');
    expect(framer.push(Buffer.from('data: {"a"')).toString()).toBe('');
    expect(framer.push(Buffer.from(':1}\n\n: keep-alive\n\n')).toString()).toBe('data: {"a":1}\n\n: keep-alive\n\n');
  });
});
