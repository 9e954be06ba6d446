import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MODELS, startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = `lightport-test-${randomUUID()}:`;

let upstream: OpenAIUpstream;
let gateways: GatewayProcess[] = [];

const config = (memory = '8mb') => `
providers:
  openai: { type: openai, api_key: "\${OPENAI_API_KEY}", base_url: "\${OPENAI_BASE_URL}" }
models:
  fast: { provider: openai, model: gpt-4o-mini }
  broken: { provider: openai, model: ${FAKE_MODELS.serverError} }
  slow: { provider: openai, model: ${FAKE_MODELS.slowStream} }
  sampled: { provider: openai, model: gpt-4o-mini }
admin: { key: admin-secret-0123456789 }
cache:
  enabled: true
  memory_max_bytes: ${memory}
  redis: { url: "\${REDIS_URL}", key_prefix: "${PREFIX}" }
  models:
    sampled: { sampled: true }
`;

async function start(memory?: string): Promise<GatewayProcess> {
  const gateway = await startGateway({
    config: config(memory),
    env: { OPENAI_API_KEY: 'sk-upstream', OPENAI_BASE_URL: upstream.url, REDIS_URL },
  });
  gateways.push(gateway);
  return gateway;
}

interface Answer {
  readonly status: number;
  readonly cache: string | null;
  readonly body: string;
}

async function chat(gateway: GatewayProcess, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer tenant-a', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, cache: response.headers.get('x-lightport-cache'), body: await response.text() };
}

const question = (text: string, extra: Record<string, unknown> = {}) => ({
  model: 'fast',
  temperature: 0,
  messages: [{ role: 'user', content: text }],
  ...extra,
});

let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gateway = await start();
});

afterAll(async () => {
  await Promise.all(gateways.map((each) => each.stop()));
  gateways = [];
  await upstream?.close();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('exact cache', () => {
  it('answers a repeat, with keys reordered, without calling the upstream', async () => {
    const first = await chat(gateway, question('key stability', { max_tokens: 50 }));
    const calls = upstream.requests.length;
    const repeat = await chat(gateway, {
      messages: [{ content: 'key stability', role: 'user' }],
      max_tokens: 50,
      temperature: 0,
      model: 'fast',
    });
    expect(first.cache).toBe('miss');
    expect(repeat.cache).toBe('hit-exact');
    expect(repeat.body).toBe(first.body);
    expect(upstream.requests.length).toBe(calls);
  });

  it('serves a non-ASCII answer with its length in bytes, on every hit', async () => {
    const text = 'Grüße, 日本語 and ✓ — twice';
    const first = await chat(gateway, question(text));
    for (let hit = 0; hit < 2; hit++) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer tenant-a' },
        body: JSON.stringify(question(text)),
      });
      const body = await response.text();
      expect(response.headers.get('x-lightport-cache')).toBe('hit-exact');
      expect(body).toBe(first.body);
      expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(body));
      expect(Buffer.byteLength(body)).toBeGreaterThan(body.length);
      expect((JSON.parse(body) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toContain(text);
    }
  });

  it('misses when any answer-changing field differs', async () => {
    await chat(gateway, question('fields', { max_tokens: 50 }));
    const variants = [
      question('fields', { max_tokens: 51 }),
      question('fields!', { max_tokens: 50 }),
      question('fields', { max_tokens: 50, top_p: 0.5 }),
      question('fields', { max_tokens: 50, response_format: { type: 'json_object' } }),
      {
        ...question('fields', { max_tokens: 50 }),
        tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
      },
      {
        ...question('fields', { max_tokens: 50 }),
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'fields' },
        ],
      },
    ];
    for (const variant of variants) expect((await chat(gateway, variant)).cache).toBe('miss');
  });

  it('keeps tenants apart: another key misses', async () => {
    await chat(gateway, question('tenants'));
    expect((await chat(gateway, question('tenants'))).cache).toBe('hit-exact');
    expect((await chat(gateway, question('tenants'), { authorization: 'Bearer tenant-b' })).cache).toBe('miss');
  });

  it('caches sampled requests only when the policy allows it', async () => {
    const sampled = { ...question('sampled'), temperature: 0.7 };
    expect((await chat(gateway, sampled)).cache).toBe('bypass');
    expect((await chat(gateway, sampled)).cache).toBe('bypass');
    const allowed = { ...sampled, model: 'sampled' };
    expect((await chat(gateway, allowed)).cache).toBe('miss');
    expect((await chat(gateway, allowed)).cache).toBe('hit-exact');
  });

  it('obeys x-lightport-cache no-cache, no-store and refresh', async () => {
    expect((await chat(gateway, question('no-store'), { 'x-lightport-cache': 'no-store' })).cache).toBe('miss');
    expect((await chat(gateway, question('no-store'))).cache).toBe('miss');
    expect((await chat(gateway, question('no-store'))).cache).toBe('hit-exact');
    expect((await chat(gateway, question('no-store'), { 'x-lightport-cache': 'no-cache' })).cache).toBe('bypass');
    const calls = upstream.requests.length;
    expect((await chat(gateway, question('no-store'), { 'x-lightport-cache': 'refresh' })).cache).toBe('bypass');
    expect(upstream.requests.length).toBe(calls + 1);
    expect((await chat(gateway, question('no-store'))).cache).toBe('hit-exact');
  });

  it('refuses a bad cache header with a 400 naming it', async () => {
    const bad = await chat(gateway, question('bad header'), { 'x-lightport-cache': 'sometimes' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { param: 'x-lightport-cache' } });
    const ttl = await chat(gateway, question('bad header'), { 'x-lightport-cache-ttl': '-5' });
    expect(ttl.status).toBe(400);
    expect(JSON.parse(ttl.body)).toMatchObject({ error: { param: 'x-lightport-cache-ttl' } });
  });

  it('expires entries after x-lightport-cache-ttl', async () => {
    await chat(gateway, question('ttl'), { 'x-lightport-cache-ttl': '1' });
    expect((await chat(gateway, question('ttl'))).cache).toBe('hit-exact');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await chat(gateway, question('ttl'))).cache).toBe('miss');
  });

  it('never stores an error', async () => {
    const first = await chat(gateway, { ...question('error'), model: 'broken' });
    const calls = upstream.requests.length;
    const second = await chat(gateway, { ...question('error'), model: 'broken' });
    expect(first.status).toBe(500);
    expect(second.status).toBe(500);
    expect(second.cache).toBe('miss');
    expect(upstream.requests.length).toBe(calls + 1);
  });

  it('never stores a stream cut off before [DONE]', async () => {
    const controller = new AbortController();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer tenant-a' },
      body: JSON.stringify({ ...question('cut'), model: 'slow', stream: true }),
      signal: controller.signal,
    });
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const again = await chat(gateway, { ...question('cut'), model: 'slow', stream: true });
    expect(again.cache).toBe('miss');
    expect(again.body).toContain('[DONE]');
  });
});

describe('admin purge', () => {
  const purge = (body: unknown, key: string) =>
    fetch(`${gateway.url}/admin/cache/purge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });

  it('purges by model from memory and Redis, and only with the admin key', async () => {
    await chat(gateway, question('purge me'));
    expect((await chat(gateway, question('purge me'))).cache).toBe('hit-exact');
    const refused = await purge({ model: 'fast' }, 'tenant-a');
    expect(refused.status).toBe(401);
    expect((await chat(gateway, question('purge me'))).cache).toBe('hit-exact');
    const done = await purge({ model: 'fast', namespace: 'default' }, 'admin-secret-0123456789');
    expect(done.status).toBe(200);
    const { purged } = (await done.json()) as { purged: { memory: number; shared: number } };
    expect(purged.memory).toBeGreaterThan(0);
    expect(purged.shared).toBeGreaterThan(0);
    expect((await chat(gateway, question('purge me'))).cache).toBe('miss');
  });

  it('checks the admin key before reading the body', async () => {
    const unreadable = (headers: Record<string, string>) =>
      fetch(`${gateway.url}/admin/cache/purge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{not json',
      });
    expect((await unreadable({})).status).toBe(401);
    expect((await unreadable({ authorization: 'Bearer tenant-a' })).status).toBe(401);
    expect((await unreadable({ authorization: 'Bearer admin-secret-0123456789' })).status).toBe(400);
  });

  it('refuses an unknown purge field with a 400', async () => {
    const bad = await purge({ tenant: 'x' }, 'admin-secret-0123456789');
    expect(bad.status).toBe(400);
  });
});

describe('streaming replay', () => {
  it('replays a cached answer as a stream the openai SDK parses, with usage, and serves JSON from a streamed answer', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'tenant-a', maxRetries: 0 });
    const request = { model: 'fast', temperature: 0, messages: [{ role: 'user' as const, content: 'stream me' }] };
    const live = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let liveText = '';
    for await (const chunk of live) liveText += chunk.choices[0]?.delta.content ?? '';
    const calls = upstream.requests.length;

    const { data: replay, response } = await client.chat.completions
      .create({ ...request, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(response.headers.get('x-lightport-cache')).toBe('hit-exact');
    let replayText = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null | undefined;
    for await (const chunk of replay) {
      replayText += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(replayText).toBe(liveText);
    expect(finish).toBe('stop');
    expect(usage?.total_tokens).toBeGreaterThan(0);

    const json = await client.chat.completions.create(request);
    expect(json.choices[0]?.message.content).toBe(liveText);
    expect(upstream.requests.length).toBe(calls);
  });
});

describe('tiers', () => {
  it('evicts the least recently used answers past the memory bound', async () => {
    const small = await startGateway({
      config: `
providers:
  echo: { type: mock }
models:
  echo: { provider: echo, model: echo-1 }
cache: { enabled: true, memory_max_bytes: 3kb }
`,
    });
    gateways.push(small);
    const long = (n: number) => question(`${n} ${'padding words '.repeat(30)}`, { model: 'echo' });
    for (let n = 0; n < 6; n++) expect((await chat(small, long(n))).cache).toBe('miss');
    expect((await chat(small, long(5))).cache).toBe('hit-exact');
    expect((await chat(small, long(0))).cache).toBe('miss');
  });

  it('shares answers between two gateway processes through Redis', async () => {
    const other = await start();
    await chat(gateway, question('shared through redis'));
    const calls = upstream.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fromOther = await chat(other, question('shared through redis'));
    expect(fromOther.cache).toBe('hit-exact');
    expect(upstream.requests.length).toBe(calls);
  });
});
