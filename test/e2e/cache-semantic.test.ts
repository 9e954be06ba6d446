import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = `lightport-test-${randomUUID()}:`;
const STORE = join(mkdtempSync(join(tmpdir(), 'lightport-cache-')), 'semantic.sqlite');

// The echo mock answers with the question itself, so a wrong hit would show in the answer.
const config = (withRedis: boolean) => `
providers:
  echo: { type: mock }
models:
  echo: { provider: echo, model: echo-1 }
cache:
  enabled: true
  store_path: "${STORE}"
${withRedis ? `  redis: { url: "\${REDIS_URL}", key_prefix: "${PREFIX}" }` : ''}
  defaults: { mode: semantic, threshold: 0.8 }
`;

const gateways: GatewayProcess[] = [];

async function start(withRedis = false): Promise<GatewayProcess> {
  const gateway = await startGateway({ config: config(withRedis), env: { REDIS_URL } });
  gateways.push(gateway);
  return gateway;
}

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

interface Asked {
  readonly cache: string | null;
  readonly similarity: string | null;
  readonly content: string;
}

async function ask(gateway: GatewayProcess, text: string, extra: Record<string, unknown> = {}): Promise<Asked> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer tenant-a' },
    body: JSON.stringify({ model: 'echo', temperature: 0, messages: [{ role: 'user', content: text }], ...extra }),
  });
  const body = (await response.json()) as { choices: { message: { content: string } }[] };
  return {
    cache: response.headers.get('x-lightport-cache'),
    similarity: response.headers.get('x-lightport-cache-similarity'),
    content: body.choices[0]?.message.content ?? '',
  };
}

describe('semantic cache', () => {
  let gateway: GatewayProcess;

  it('answers near-duplicates from the cache, with the similarity', async () => {
    gateway = await start();
    const original = await ask(gateway, 'What is the capital of France?');
    expect(original.cache).toBe('miss');
    for (const near of ['what is the capital of france', 'What is the captial of France?', 'What is the capital of France ?']) {
      const answer = await ask(gateway, near);
      expect(answer.cache).toBe('hit-semantic');
      expect(Number(answer.similarity)).toBeGreaterThanOrEqual(0.8);
      expect(answer.content).toBe(original.content);
    }
  });

  it('never answers a lexically close but different question from the cache', async () => {
    await ask(gateway, 'What is 12 times 7?');
    await ask(gateway, 'Is Python a compiled language?');
    for (const [text, cached] of [
      ['what is the capital of spain', 'What is the capital of France?'],
      ['What is 12 times 8?', 'What is 12 times 7?'],
      ['Is Python not a compiled language?', 'Is Python a compiled language?'],
    ] as const) {
      const answer = await ask(gateway, text);
      expect(answer.cache, `${text} must not be answered by ${cached}`).toBe('miss');
      expect(answer.content).toBe(text);
    }
    // A near-duplicate of the Spain question now finds it, and only it.
    const spain = await ask(gateway, 'What is the capital of Spain?');
    expect(spain.cache).toBe('hit-semantic');
    expect(spain.content).toBe('what is the capital of spain');
  });

  it('never answers a question with its words swapped, or with an opposite verb, from the cache', async () => {
    for (const [cached, text] of [
      ['Is A bigger than B?', 'Is B bigger than A?'],
      ['How do I convert Celsius to Fahrenheit?', 'How do I convert Fahrenheit to Celsius?'],
      ['How do I increase the font size?', 'How do I decrease the font size?'],
    ] as const) {
      expect((await ask(gateway, cached)).cache).toBe('miss');
      const answer = await ask(gateway, text);
      expect(answer.cache, `${text} must not be answered by ${cached}`).toBe('miss');
      expect(answer.content).toBe(text);
    }
    // Both are cached now, each answering its own near-duplicates.
    const swapped = await ask(gateway, 'is B bigger than A');
    expect(swapped.cache).toBe('hit-semantic');
    expect(swapped.content).toBe('Is B bigger than A?');
    const typo = await ask(gateway, 'How do I increese the font size?');
    expect(typo.cache).toBe('hit-semantic');
    expect(typo.content).toBe('How do I increase the font size?');
  });

  it('misses when the system prompt or the tools differ', async () => {
    await ask(gateway, 'Name a primary colour.');
    expect((await ask(gateway, 'name a primary colour')).cache).toBe('hit-semantic');
    const system = {
      messages: [
        { role: 'system', content: 'Answer in French.' },
        { role: 'user', content: 'name a primary colour' },
      ],
    };
    expect((await ask(gateway, '', system)).cache).toBe('miss');
    const tools = { tools: [{ type: 'function', function: { name: 'palette', parameters: { type: 'object', properties: {} } } }] };
    expect((await ask(gateway, 'name a primary colour', tools)).cache).toBe('miss');
  });

  it('keeps its index across a restart', async () => {
    await gateway.stop();
    const restarted = await start();
    const answer = await ask(restarted, 'what is the capital of france?');
    expect(answer.cache).toBe('hit-semantic');
    expect(answer.content).toBe('What is the capital of France?');
  });

  it('shares entries between replicas through Redis', async () => {
    const first = await start(true);
    const second = await start(true);
    await ask(first, 'How many legs does a spider have?');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const answer = await ask(second, 'how many legs does a spider have');
    expect(answer.cache).toBe('hit-semantic');
    expect(answer.content).toBe('How many legs does a spider have?');
  });
});
