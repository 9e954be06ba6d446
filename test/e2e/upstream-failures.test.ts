import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_KEY, anthropicDialect } from '../fakes/providers/anthropic.ts';
import { startFakeProvider, type FakeProvider } from '../fakes/providers/harness.ts';
import { accessLogLine } from '../support/access-log.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { scrape } from '../support/prometheus.ts';

const chunk = (content: string) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }] })}\n\n`;

/** An OpenAI-format upstream that fails in the ways real ones do, chosen by model name. */
function misbehavingUpstream(): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (data: Buffer) => (body += data.toString()));
    req.on('end', () => {
      const model = (JSON.parse(body) as { model: string }).model;
      if (model === 'dies-mid-stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk('Hello'));
        res.write(chunk(' wor'));
        setTimeout(() => res.socket?.destroy(), 50);
      } else if (model === 'dies-mid-json') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
        res.write('{"id":"chatcmpl-x","object":"chat.com');
        setTimeout(() => res.socket?.destroy(), 50);
      } else if (model === 'never-answers') {
        // holds the request open; the provider's timeout must end it
      } else if (model === 'echoes-credentials') {
        // Some upstreams and proxies quote the request's headers back in an error message.
        const error = {
          message: `Incorrect API key provided: ${JSON.stringify(req.headers)}`,
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        };
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error }));
      } else if (model === 'redirects') {
        res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
        res.end();
      } else if (model === 'html-error') {
        res.writeHead(503, { 'content-type': 'text/html' });
        res.end('<html><body>Service Unavailable</body></html>');
      }
    });
  });
}

const PROVIDER_KEY = 'sk-upstream-failures-0123456789abcdef';
const CUSTOM_SECRET = 'custom-secret-9876543210';

let upstream: Server;
let anthropicFake: FakeProvider;
let gateway: GatewayProcess;
let client: OpenAI;

beforeAll(async () => {
  upstream = misbehavingUpstream();
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  anthropicFake = await startFakeProvider(anthropicDialect, '/v1');
  gateway = await startGateway({
    config: `
providers:
  bad:
    type: openai-compatible
    base_url: http://127.0.0.1:${port}/v1
    api_key: ${PROVIDER_KEY}
    headers: { x-custom-auth: ${CUSTOM_SECRET} }
    timeout_ms: 300
  m:
    type: mock
  claude: { type: anthropic, base_url: ${anthropicFake.url}, api_key: ${ANTHROPIC_KEY} }
pricing:
  models:
    claude/*: { input_per_mtok: 3, output_per_mtok: 15 }
`,
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await anthropicFake?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

const ask = (model: string, stream = false) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'x' }] }),
  });

describe('upstream failures', () => {
  it('ends a stream whose upstream dies with a well-formed error event, after the text so far', async () => {
    const response = await ask('bad/dies-mid-stream', true);
    expect(response.status).toBe(200);
    const text = await response.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events.slice(0, 2).every((event) => event.startsWith('data: {"id"'))).toBe(true);
    const last = JSON.parse((events.at(-1) ?? '').replace(/^data: /, '')) as { error: { message: string; code: string } };
    expect(last.error.code).toBe('upstream_error');
    expect(last.error.message).toMatch(/failed while the answer was streaming/);
    expect(text).not.toContain('[DONE]');
  });

  it('makes the openai SDK raise on that stream instead of returning a silently short answer', async () => {
    const stream = await client.chat.completions.create({
      model: 'bad/dies-mid-stream',
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    await expect(
      (async () => {
        for await (const _chunk of stream) {
          /* drain */
        }
      })(),
    ).rejects.toThrow(/failed while the answer was streaming/);
  });

  it('answers a clean 502 when the upstream dies mid-JSON (a JSON answer is held until complete), never half a body', async () => {
    const response = await ask('bad/dies-mid-json');
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_unreachable');
  });

  it('answers 504 when the upstream does not answer within the provider timeout', async () => {
    const response = await ask('bad/never-answers');
    expect(response.status).toBe(504);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
  });

  it("wraps a non-JSON upstream error in OpenAI's shape, keeping its status", async () => {
    const response = await ask('bad/html-error');
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { message: string; type: string } };
    expect(body.error.message).toContain('Service Unavailable');
    expect(body.error.type).toBe('server_error');
  });

  it('keeps the credentials it sent upstream out of an error that echoes them back', async () => {
    const response = await ask('bad/echoes-credentials');
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(text).toContain('Incorrect API key provided');
    expect(text).toContain('[redacted]');
    expect(text).not.toContain(PROVIDER_KEY);
    expect(text).not.toContain(CUSTOM_SECRET);
  });

  it('answers an upstream redirect with a 502 of its own, never following it', async () => {
    const response = await ask('bad/redirects');
    expect(response.status).toBe(502);
    expect(response.headers.get('location')).toBeNull();
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('server_error');
  });

  it('answers a model name no HTTP header can hold, percent-encoded in x-lightport-model, and keeps serving', async () => {
    for (const model of ['héllo😀', 'line\nbreak']) {
      const response = await ask(`m/${model}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-lightport-model')).toBe(encodeURIComponent(model));
      await response.arrayBuffer();
    }
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  });

  it('answers a body nested too deeply to re-serialize with 400, not 500', async () => {
    const depth = 1_000_000;
    const extra = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: `{"model":"bad/html-error","messages":[{"role":"user","content":"x"}],"extra":${extra}}`,
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/nested too deeply/);
  });

  it('answers a malformed percent-escape in a model path with 400, not 500', async () => {
    const response = await fetch(`${gateway.url}/v1/models/%ZZ`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });

  it('counts the interrupted streams (both above) in lightport_streams_interrupted_total, and nothing else', async () => {
    const metrics = await scrape(`${gateway.url}/metrics`);
    expect(
      metrics.value('lightport_streams_interrupted_total', { provider: 'bad', target: 'bad/dies-mid-stream', reason: 'upstream_error' }),
    ).toBe(2);
    expect(metrics.value('lightport_streams_interrupted_total')).toBe(2);
  });

  it('still serves after all of that', async () => {
    const response = await fetch(`${gateway.url}/healthz`);
    expect(response.status).toBe(200);
  });
});

describe('an Anthropic stream cut after message_start, translated to chat', () => {
  it('leaves a request record with the input tokens message_start reported, and their cost', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'claude/fake-cut',
        stream: true,
        messages: [{ role: 'user', content: 'a long answer that will be cut off half way through please' }],
      })
      .withResponse();
    let text = '';
    await expect(
      (async () => {
        for await (const part of stream) text += part.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow(/failed while the answer was streaming/);
    expect(text).toMatch(/^You said: a /);
    const line = await accessLogLine(gateway, response.headers.get('x-request-id') ?? '');
    // The fake's message_start: 21 input tokens and 4 cache reads (OpenAI's prompt_tokens count both), 1 output token.
    expect(line).toMatchObject({ provider: 'claude', streaming: true, error: 'upstream_error', completed: true });
    expect(line['usage']).toMatchObject({ prompt_tokens: 25, cached_tokens: 4, completion_tokens: 1 });
    expect(line['cost_usd']).toBeGreaterThan(0);
  });

  it('and so does the same stream relayed as it is to a /v1/messages caller', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude/fake-cut', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'cut me off' }] }),
    });
    expect(await response.text()).toMatch(/event: error\n/);
    const line = await accessLogLine(gateway, response.headers.get('x-request-id') ?? '');
    expect(line).toMatchObject({ path: '/v1/messages', provider: 'claude', error: 'upstream_error' });
    expect(line['usage']).toMatchObject({ prompt_tokens: 25, cached_tokens: 4, completion_tokens: 1 });
    expect(line['cost_usd']).toBeGreaterThan(0);
  });
});
