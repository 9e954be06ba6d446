import { describe, expect, it } from 'vitest';
import { upstreamPathJoiner } from './upstream-path.ts';

describe('upstreamPathJoiner', () => {
  it("joins the base URL's path (trailing slashes dropped) to each request's path, whatever came before", () => {
    const join = upstreamPathJoiner(new URL('https://api.example.com/v1//'));
    expect(join('/chat/completions')).toBe('/v1/chat/completions');
    expect(join('/chat/completions')).toBe('/v1/chat/completions');
    expect(join('/embeddings')).toBe('/v1/embeddings');
    expect(join('/chat/completions')).toBe('/v1/chat/completions');
    expect(join(`/deployments/${'gpt-4o'}/chat/completions`)).toBe('/v1/deployments/gpt-4o/chat/completions');
  });

  it('leaves paths alone under a bare origin', () => {
    const join = upstreamPathJoiner(new URL('http://127.0.0.1:8080'));
    expect(join('/v1/messages')).toBe('/v1/messages');
    expect(join('')).toBe('');
  });
});
