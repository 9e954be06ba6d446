import { describe, expect, it } from 'vitest';
import { usageFromTail } from './usage.ts';

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

  it('reads embeddings usage (no completion tokens)', () => {
    expect(usageFromTail('{"data":[],"usage":{"prompt_tokens":8,"total_tokens":8}}')).toEqual({
      prompt_tokens: 8,
      completion_tokens: 0,
      total_tokens: 8,
    });
  });
});
