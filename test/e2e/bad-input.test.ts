import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

let gateway: GatewayProcess;

beforeAll(async () => {
  gateway = await startGateway({
    config: `
server: { body_limit: 2kb, request_timeout_ms: 1500 }
providers:
  mock: { type: mock }
models:
  echo: { provider: mock, model: echo-1 }
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function post(path: string, body: string, init: RequestInit = {}): Promise<{ status: number; body: ErrorBody; headers: Headers }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, ...init });
  return { status: response.status, body: (await response.json()) as ErrorBody, headers: response.headers };
}

function expectOpenAIError(body: ErrorBody): void {
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).toSorted()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
}

const valid = (extra: object = {}) => JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hi' }], ...extra });

describe("bad input gets a clear 4xx in OpenAI's error shape", () => {
  it.each([
    ['malformed JSON', '{"model": "echo", ', 400, 'invalid_json', null],
    ['a JSON array', '[1,2]', 400, 'invalid_request', null],
    ['missing messages', JSON.stringify({ model: 'echo' }), 400, 'invalid_request', 'messages'],
    ['messages of the wrong type', JSON.stringify({ model: 'echo', messages: 'hi' }), 400, 'invalid_request', 'messages'],
    ['empty messages', JSON.stringify({ model: 'echo', messages: [] }), 400, 'invalid_request', 'messages'],
    [
      'a bad role',
      JSON.stringify({ model: 'echo', messages: [{ role: 'robot', content: 'x' }] }),
      400,
      'invalid_request',
      'messages[0].role',
    ],
    ['model of the wrong type', JSON.stringify({ model: 42, messages: [{ role: 'user', content: 'x' }] }), 400, 'invalid_request', 'model'],
    ['stream of the wrong type', valid({ stream: 'yes' }), 400, 'invalid_request', 'stream'],
    ['temperature out of range', valid({ temperature: 7 }), 400, 'invalid_request', 'temperature'],
    ['an unknown model', valid({ model: 'nope' }), 404, 'model_not_found', 'model'],
  ])('%s', async (_label, body, status, code, param) => {
    const response = await post('/v1/chat/completions', body);
    expect(response.status).toBe(status);
    expectOpenAIError(response.body);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.param).toBe(param);
    if (param !== null) expect(response.body.error.message).toContain(param);
  });

  it('says a number past what a double holds is too large, not that a number is not a number', async () => {
    const response = await post('/v1/chat/completions', valid().replace(/}$/, ',"max_tokens":1e400}'));
    expect(response.status).toBe(400);
    expect(response.body.error.param).toBe('max_tokens');
    expect(response.body.error.message).toContain('a number too large to represent');
  });

  it('refuses a body over the limit with 413', async () => {
    const response = await post('/v1/chat/completions', valid({ padding: 'x'.repeat(4096) }));
    expect(response.status).toBe(413);
    expectOpenAIError(response.body);
    expect(response.body.error.message).toContain('server.body_limit');
  });

  it('refuses an oversized chunked body (no content-length) with 413', async () => {
    const big = valid({ padding: 'y'.repeat(8192) });
    const stream = new ReadableStream({
      start: (controller) => {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const response = await post('/v1/chat/completions', '', { body: stream, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
  });

  it('answers an unknown route with 404', async () => {
    const response = await post('/v1/nothing-here', '{}');
    expect(response.status).toBe(404);
    expectOpenAIError(response.body);
    expect(response.body.error.message).toContain('/v1/nothing-here');
  });

  it('answers a wrong method with 405 and an Allow header', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expectOpenAIError((await response.json()) as ErrorBody);
  });

  it('answers a malformed HTTP request with 400 and keeps serving', async () => {
    const { connect } = await import('node:net');
    const url = new URL(gateway.url);
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    // In OpenAI's error shape too, as every other refusal.
    const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as ErrorBody;
    expectOpenAIError(body);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'malformed_http_request' });
  });

  it('answers a body that stops arriving with 408 at the request timeout, and closes the connection', async () => {
    const { connect } = await import('node:net');
    const url = new URL(gateway.url);
    const started = performance.now();
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () =>
        socket.write(
          `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"model":`,
        ),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    const waitedMs = performance.now() - started;
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(reply.toLowerCase()).toContain('connection: close');
    expectOpenAIError(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as ErrorBody);
    expect(reply).toContain('"code":"request_timeout"');
    expect(waitedMs).toBeGreaterThanOrEqual(1400);
    expect(waitedMs).toBeLessThan(5000);
  });

  it("answers oversized request headers with 431 in OpenAI's error shape", async () => {
    const response = await fetch(`${gateway.url}/v1/models`, { headers: { 'x-padding': 'x'.repeat(20_000) } });
    expect(response.status).toBe(431);
    expect(response.headers.get('x-request-id')).toMatch(/.+/);
    const body = (await response.json()) as ErrorBody;
    expectOpenAIError(body);
    expect(body.error.code).toBe('headers_too_large');
  });

  it('answers HEAD on the health endpoints like GET, without a body', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const response = await fetch(`${gateway.url}${path}`, { method: 'HEAD' });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('');
    }
  });

  it('keeps serving after all of the above, in parallel with bad requests', async () => {
    const results = await Promise.all([
      post('/v1/chat/completions', valid()),
      post('/v1/chat/completions', '{oops'),
      post('/v1/chat/completions', valid({ messages: [{ role: 'user', content: 'second' }] })),
    ]);
    expect(results.map((result) => result.status)).toEqual([200, 400, 200]);
    expect(gateway.child.exitCode).toBeNull();
  });
});
