import { describe, expect, it } from 'vitest';
import { classifyUpstreamError, retryAfterMs } from './error-class.ts';

const body = (message: string, code: string | null = null, type = 'invalid_request_error') => ({
  error: { message, type, param: null, code },
});

describe('classifyUpstreamError', () => {
  it.each([
    [400, body("This model's maximum context length is 128000 tokens.", 'context_length_exceeded'), 'context_length'],
    [400, body('prompt is too long: 210000 tokens > 200000 maximum'), 'context_length'],
    [429, body('Rate limit reached', 'rate_limit_exceeded', 'requests'), 'rate_limit'],
    [429, body('You exceeded your current quota', 'insufficient_quota', 'insufficient_quota'), 'quota'],
    [503, body('The engine is currently overloaded', null, 'server_error'), 'overloaded'],
    [529, body('Overloaded', null, 'overloaded_error'), 'overloaded'],
    [500, body('The server had an error', null, 'server_error'), 'server'],
    [401, body('Incorrect API key provided', 'invalid_api_key'), 'auth'],
    [404, body("The model 'x' does not exist", 'model_not_found'), 'not_found'],
    [400, body("Invalid type for 'messages'", 'invalid_type'), 'bad_request'],
  ] as const)('HTTP %i %j is %s', (status, errorBody, expected) => {
    expect(classifyUpstreamError(status, errorBody)).toBe(expected);
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '1' })).toBe(250);
    expect(retryAfterMs({ 'retry-after': '2' })).toBe(2000);
    expect(retryAfterMs({ 'retry-after': '0.5' })).toBe(500);
    expect(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 7_000)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterMs({})).toBeUndefined();
  });
});
