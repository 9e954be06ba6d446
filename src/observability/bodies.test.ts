import { describe, expect, it } from 'vitest';
import { finishedRequest } from '../../test/support/request-events.ts';
import { BodyRenderer } from './bodies.ts';
import { Redactor } from './redaction.ts';

const base = finishedRequest({ bodyCapture: 'full' });

const renderer = new BodyRenderer(new Redactor({ fields: ['password'], patterns: ['ACME-\\d+'] }, ['configured-secret-123']), 200);

describe('BodyRenderer', () => {
  it('redacts fields at any depth, patterns, key-shaped strings and configured secrets', () => {
    const rendered = renderer.render({
      ...base,
      requestBody: { messages: [{ content: 'ACME-42 sk-abcdefghijklmnopqrstuv configured-secret-123' }], nested: { password: 'hunter2' } },
      responseChunks: [Buffer.from('{"choices":[{"message":{"content":"ok"}}],"password":"x"}')],
    });
    expect(rendered.request).toBe('{"messages":[{"content":"[redacted] [redacted] [redacted]"}],"nested":{"password":"[redacted]"}}');
    expect(rendered.response).toBe('{"choices":[{"message":{"content":"ok"}}],"password":"[redacted]"}');
  });

  it('redacts each event of a stream and cuts long bodies', () => {
    const stream = `data: {"password":"p","c":"${'x'.repeat(300)}"}\n\ndata: [DONE]\n\n`;
    const rendered = renderer.render({ ...base, streaming: true, responseChunks: [stream] });
    expect(rendered.response?.startsWith('data: {"password":"[redacted]","c":"xxx')).toBe(true);
    expect(rendered.response).toMatch(/…\[cut \d+ characters\]$/);
  });

  it('keeps nothing of a successful request at the errors tier, and the error body of a failed one', () => {
    expect(renderer.render({ ...base, bodyCapture: 'errors', requestBody: { a: 1 } })).toEqual({});
    const failed = renderer.render({
      ...base,
      bodyCapture: 'errors',
      status: 502,
      requestBody: { a: 1 },
      errorBody: { error: { message: 'down', type: 'server_error', param: null, code: 'upstream_error' } },
    });
    expect(failed.request).toBe('{"a":1}');
    expect(failed.response).toContain('upstream_error');
  });
});
