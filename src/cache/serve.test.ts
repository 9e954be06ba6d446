import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { RecordingResponse as Written, recordingContext } from '../../test/support/recording-response.ts';

import type { CachedAnswer } from './answer-store.ts';
import { serveCachedAnswer } from './serve.ts';

function served(answer: CachedAnswer, stream = false): Written {
  const res = new Written();
  serveCachedAnswer(recordingContext(res), answer, { stream, includeUsage: true });
  return res;
}

const completion = {
  id: 'c',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'héllo' }, finish_reason: 'stop' }],
};
const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };

describe('a cached answer served as JSON', () => {
  it('carries the usage the upstream reported when the stored answer has none, its length counted in bytes', () => {
    const answer: CachedAnswer = { body: JSON.stringify(completion), usage, expiresAt: Date.now() + 60_000 };
    for (const res of [served(answer), served(answer)]) {
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ ...completion, usage });
      expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
    }
  });

  it('is the stored answer as it is when it has its own usage, or when none is known', () => {
    const own = JSON.stringify({ ...completion, usage: { prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 } });
    expect(served({ body: own, usage, expiresAt: Date.now() + 60_000 }).body).toBe(own);
    const none = JSON.stringify(completion);
    expect(served({ body: none, expiresAt: Date.now() + 60_000 }).body).toBe(none);
  });

  it('gives a stream hit that asked for usage the usage chunk from the usage the upstream reported', () => {
    const res = served({ body: JSON.stringify(completion), usage, expiresAt: Date.now() + 60_000 }, true);
    expect(res.body).toContain('"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}');
  });
});
