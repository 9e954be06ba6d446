import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { targetOf } from '../support/target-headers.ts';

const CALLER_KEY = 'sk-caller-own-key-987';

let upstream: OpenAIUpstream;
let gateway: GatewayProcess;
let upstreamHost: string;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  upstreamHost = new URL(upstream.url).host;
  const port = new URL(upstream.url).port;
  gateway = await startGateway({
    config: `
providers:
  demo: { type: mock }
passthrough:
  enabled: true
  allowed_hosts: ["${upstreamHost}", "localhost:${port}", "*.example.com"]
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

function passthroughClient(baseUrl: string | undefined, apiKey = CALLER_KEY): OpenAI {
  const headers: Record<string, string> = { 'x-lightport-provider': 'openai-compatible' };
  if (baseUrl !== undefined) headers['x-lightport-base-url'] = baseUrl;
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0, defaultHeaders: headers });
}

async function statusOf(promise: Promise<unknown>): Promise<{ status: number | undefined; message: string }> {
  const error = (await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )) as InstanceType<typeof OpenAI.APIError> | undefined;
  return { status: error?.status, message: error?.message ?? '' };
}

const ask = (client: OpenAI) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'byok' }] });

describe("passthrough with the caller's own key", () => {
  it("forwards to an allowed upstream URL with the caller's key and model", async () => {
    const { data, response } = await ask(passthroughClient(upstream.url)).withResponse();
    expect(data.choices[0]?.message.content).toBe('You said: byok');
    expect(targetOf(response.headers)).toBe('openai-compatible/gpt-4o-mini');
    const sent = upstream.requests.at(-1);
    expect(sent?.headers['authorization']).toBe(`Bearer ${CALLER_KEY}`);
    expect(sent?.body).toMatchObject({ model: 'gpt-4o-mini' });
  });

  it("needs the caller's key", async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-lightport-provider': 'openai-compatible', 'x-lightport-base-url': upstream.url },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
  });

  it('refuses an unknown provider type naming the known ones', async () => {
    const client = new OpenAI({
      baseURL: `${gateway.url}/v1`,
      apiKey: CALLER_KEY,
      maxRetries: 0,
      defaultHeaders: { 'x-lightport-provider': 'nonesuch' },
    });
    const { status, message } = await statusOf(ask(client));
    expect(status).toBe(400);
    expect(message).toContain('openai-compatible');
  });

  it('refuses names every JavaScript object has (constructor, __proto__) as provider types', async () => {
    for (const name of ['constructor', '__proto__', 'toString']) {
      const client = new OpenAI({
        baseURL: `${gateway.url}/v1`,
        apiKey: CALLER_KEY,
        maxRetries: 0,
        defaultHeaders: { 'x-lightport-provider': name, 'x-lightport-base-url': upstream.url },
      });
      const { status, message } = await statusOf(ask(client));
      expect(status).toBe(400);
      expect(message).toContain('names no provider type');
    }
  });
});

describe('SSRF guard on caller-chosen upstream URLs', () => {
  it.each([
    ['an unlisted host', 'https://evil.test/v1'],
    ['cloud metadata (link-local)', 'http://169.254.169.254/latest/meta-data'],
    ['a private address', 'http://10.0.0.7/v1'],
    ['loopback on an unlisted port', 'http://127.0.0.1:1/v1'],
    ['a non-http scheme', 'file:///etc/passwd'],
  ])('refuses %s with 403', async (_label, url) => {
    const { status } = await statusOf(ask(passthroughClient(url)));
    expect(status).toBe(403);
    expect(upstream.requests.every((request) => !String(request.headers['authorization']).includes('evil'))).toBe(true);
  });

  it('refuses a listed host name that resolves to a private address not listed by IP', async () => {
    const before = upstream.requests.length;
    const { status, message } = await statusOf(ask(passthroughClient(upstream.url.replace('127.0.0.1', 'localhost'))));
    expect(status).toBe(403);
    expect(message).toMatch(/private address/);
    expect(upstream.requests.length).toBe(before);
  });

  it('answers 400 for a base URL that is not a URL', async () => {
    expect((await statusOf(ask(passthroughClient('not a url')))).status).toBe(400);
  });
});
