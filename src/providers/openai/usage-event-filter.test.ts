import { describe, expect, it } from 'vitest';
import { WholeEvents } from '../whole-events.ts';
import { UsageEventFilter } from './usage-event-filter.ts';

const content = (text: string, newline = '\n') =>
  `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}],"usage":null}${newline}${newline}`;
const usageEvent = (newline = '\n') =>
  `data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}${newline}${newline}`;
const usage = usageEvent();
const done = 'data: [DONE]\n\n';

/** What the caller gets: the pieces framed into whole events, as the transport does, then filtered. */
function outputs(pieces: string[]): string[] {
  const events = new WholeEvents();
  const filter = new UsageEventFilter();
  const out = pieces.map((piece) => filter.push(events.push(Buffer.from(piece))).toString());
  out.push(filter.push(events.flush()).toString());
  return out;
}

const run = (pieces: string[]): string => outputs(pieces).join('');

describe('UsageEventFilter', () => {
  it('drops the usage-only chunk and keeps everything else byte for byte', () => {
    const stream = [content('Hel'), content('lo'), usage, done];
    expect(run(stream)).toBe(content('Hel') + content('lo') + done);
  });

  it('works whatever the read boundaries are, including splits inside the usage chunk', () => {
    const whole = content('a "usage":{ look-alike') + content('b') + usage + done;
    const expected = content('a "usage":{ look-alike') + content('b') + done;
    for (let size = 1; size <= 40; size++) {
      const pieces: string[] = [];
      for (let at = 0; at < whole.length; at += size) pieces.push(whole.slice(at, at + size));
      expect(run(pieces)).toBe(expected);
    }
  });

  it.each([
    { name: 'CRLF', newline: '\r\n' },
    { name: 'CR', newline: '\r' },
  ])('passes each event on as it comes, and drops the usage-only chunk, with $name line endings', ({ newline }) => {
    const first = content('Hel', newline);
    const second = content('lo', newline);
    const last = `data: [DONE]${newline}${newline}`;
    // Every event as it comes: nothing is held back until the stream ends.
    expect(outputs([first, second, usageEvent(newline), last])).toEqual([first, second, '', last, '']);
    expect(run([first + second, usageEvent(newline) + last])).toBe(first + second + last);
    const whole = first + usageEvent(newline) + second + last;
    for (let size = 1; size <= 40; size++) {
      const pieces: string[] = [];
      for (let at = 0; at < whole.length; at += size) pieces.push(whole.slice(at, at + size));
      expect(run(pieces)).toBe(first + second + last);
    }
  });

  it('keeps usage that rides on a chunk with choices', () => {
    const withChoices = 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}\n\n';
    expect(run([content('x'), withChoices, done])).toBe(content('x') + withChoices + done);
  });

  it('drops a usage-only chunk read together with chunks that carry usage and choices', () => {
    const withChoices = 'data: {"choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":1}}\n\n';
    expect(run([withChoices + withChoices + usage + done])).toBe(withChoices + withChoices + done);
  });

  it('keeps an Azure-style first chunk with no choices and no usage', () => {
    const filterResults = 'data: {"choices":[],"prompt_filter_results":[{"prompt_index":0}]}\n\n';
    expect(run([filterResults, content('x'), usage, done])).toBe(filterResults + content('x') + done);
  });

  it('passes on an unterminated last event at the end', () => {
    expect(run([content('x'), 'data: [DONE]'])).toBe(`${content('x')}data: [DONE]`);
  });

  it('drops an unterminated usage-only chunk at the end', () => {
    expect(run([content('x'), usage.trimEnd()])).toBe(content('x'));
  });
});
