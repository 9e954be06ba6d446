import { describe, expect, it } from 'vitest';
import { mapUpstreamError } from './upstream-errors.ts';

const json = (value: unknown): string => JSON.stringify(value);

describe('mapUpstreamError', () => {
  it("keeps an OpenAI-shaped error as it is, and classifies context length from OpenAI's code", () => {
    const outcome = mapUpstreamError(
      400,
      json({
        error: {
          message: "This model's maximum context length is 8192 tokens.",
          type: 'invalid_request_error',
          param: 'messages',
          code: 'context_length_exceeded',
        },
      }),
      {},
    );
    expect(outcome).toMatchObject({ status: 400, errorClass: 'context_length' });
    expect(outcome.body.error).toEqual({
      message: "This model's maximum context length is 8192 tokens.",
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    });
  });

  it("maps Anthropic's overloaded 529 to 503, classified overloaded", () => {
    const outcome = mapUpstreamError(529, json({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), {});
    expect(outcome).toMatchObject({
      status: 503,
      errorClass: 'overloaded',
      body: { error: { message: 'Overloaded', type: 'server_error' } },
    });
  });

  it('reads retry hints from Retry-After seconds, Retry-After dates and retry-after-ms', () => {
    expect(mapUpstreamError(429, '{}', { 'retry-after': '7' })).toMatchObject({
      errorClass: 'rate_limit',
      retryAfterMs: 7000,
      retryAfter: '7',
    });
    expect(mapUpstreamError(429, '{}', { 'retry-after-ms': '1500' })).toMatchObject({ retryAfterMs: 1500, retryAfter: '2' });
    const date = new Date(Date.now() + 10_000).toUTCString();
    const fromDate = mapUpstreamError(429, '{}', { 'retry-after': date });
    expect(fromDate.retryAfterMs).toBeGreaterThan(8000);
    expect(fromDate.retryAfterMs).toBeLessThanOrEqual(10_000);
  });

  it("reads Gemini's RetryInfo delay from the body", () => {
    const body = json({
      error: {
        code: 429,
        message: 'quota',
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '34.4s' }],
      },
    });
    expect(mapUpstreamError(429, body, {})).toMatchObject({
      status: 429,
      errorClass: 'rate_limit',
      retryAfterMs: 34_400,
      retryAfter: '35',
      body: { error: { message: 'quota', type: 'rate_limit_error', code: 'rate_limit_exceeded' } },
    });
  });

  it("treats Gemini's invalid-key 400 as an authentication error", () => {
    const body = json({
      error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT', details: [{ reason: 'API_KEY_INVALID' }] },
    });
    expect(mapUpstreamError(400, body, {})).toMatchObject({
      status: 401,
      errorClass: 'auth',
      body: { error: { type: 'authentication_error' } },
    });
  });

  it('classifies AWS exceptions named in x-amzn-errortype, and Bedrock context-length messages', () => {
    const throttled = mapUpstreamError(429, json({ message: 'Too many requests' }), { 'x-amzn-errortype': 'ThrottlingException:http://x' });
    expect(throttled).toMatchObject({ errorClass: 'rate_limit', body: { error: { message: 'Too many requests' } } });
    expect(mapUpstreamError(400, json({ message: 'Input is too long for requested model.' }), {})).toMatchObject({
      errorClass: 'context_length',
      body: { error: { code: 'context_length_exceeded' } },
    });
    expect(mapUpstreamError(503, json({ message: 'unavailable' }), { 'x-amzn-errortype': 'ServiceUnavailableException' })).toMatchObject({
      errorClass: 'overloaded',
    });
  });

  it("reads Mistral's unwrapped errors, whose message may be an object", () => {
    const outcome = mapUpstreamError(
      422,
      json({ object: 'error', message: { detail: [{ msg: 'Extra inputs are not permitted' }] }, type: 'invalid_request_message_error' }),
      {},
    );
    expect(outcome).toMatchObject({ status: 422, errorClass: 'bad_request' });
    expect(outcome.body.error.message).toContain('Extra inputs are not permitted');
  });

  it('wraps a non-JSON body, and tells auth, not-found and server faults apart', () => {
    expect(mapUpstreamError(502, '<html>Bad Gateway</html>', {})).toMatchObject({
      errorClass: 'server',
      body: { error: { message: '<html>Bad Gateway</html>', type: 'server_error' } },
    });
    expect(mapUpstreamError(401, json({ message: 'invalid api token' }), {})).toMatchObject({
      errorClass: 'auth',
      body: { error: { type: 'authentication_error' } },
    });
    expect(mapUpstreamError(404, json({ message: 'no such model' }), {})).toMatchObject({ errorClass: 'not_found' });
    expect(mapUpstreamError(500, '', {}).body.error.message).toBe('The upstream answered with HTTP 500.');
  });
});
