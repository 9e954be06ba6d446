import { describe, expect, it } from 'vitest';
import { UsageEventFilter } from './usage-event-filter.ts';

const content = (text: string) =>
  `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}],"usage":null}\n\n`;
const usage =
  'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n';
const done = 'data: [DONE]\n\n';

function run(pieces: string[]): string {
  const filter = new UsageEventFilter();
  const out = pieces.map((piece) => filter.push(Buffer.from(piece)).toString());
  return out.join('') + filter.flush().toString();
}

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

  it('keeps usage that rides on a chunk with choices', () => {
    const withChoices = 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}\n\n';
    expect(run([content('x'), withChoices, done])).toBe(content('x') + withChoices + done);
  });

  it('keeps an Azure-style first chunk with no choices and no usage', () => {
    const filterResults = 'data: {"choices":[],"prompt_filter_results":[{"prompt_index":0}]}\n\n';
    expect(run([filterResults, content('x'), usage, done])).toBe(filterResults + content('x') + done);
  });

  it('passes on an unterminated last event at the end', () => {
    expect(run([content('x'), 'data: [DONE]'])).toBe(`${content('x')}data: [DONE]`);
  });
});
