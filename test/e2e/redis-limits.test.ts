import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = randomUUID().replaceAll('-', '').slice(0, 10);
const prefix = `lp-test-${run}`;
const schema = `lp_test_${run}`;
const SHARED = 'lp-test-replica-shared-01';
const SOLO = 'lp-test-replica-solo-0002';
const HEAVY = 'lp-test-replica-heavy-003';
const HEAVY_TPM = 64_000;
const ADMIN = 'test-admin-key-0123456789';
const GLOBAL_RPM = 60;

let replicas: GatewayProcess[] = [];
let keyed: GatewayProcess[] = [];
let heavy: GatewayProcess | undefined;

const globalConfig = `
providers: { plain: { type: mock } }
models: { echo: { provider: plain, model: echo-1 } }
limits:
  backend: redis
  global: { requests_per_minute: ${GLOBAL_RPM} }
state:
  redis: { url: "${REDIS_URL}", prefix: ${prefix}-global }
`;

const keyedConfig = `
providers:
  priced: { type: mock, usage: { prompt_tokens: 100000, completion_tokens: 0 } }
  slow: { type: mock, first_token_ms: 300 }
models:
  echo: { provider: priced, model: priced-1 }
  slow: { provider: slow, model: slow-1 }
admin: { key: ${ADMIN} }
auth:
  enabled: true
  refresh_ms: 200
  keys:
    - { name: shared, key: ${SHARED}, limits: { concurrent: 1 }, budgets: [{ usd: 0.5, period: day }] }
    - { name: solo, key: ${SOLO}, limits: { concurrent: 1 } }
limits:
  backend: redis
budgets:
  prices: { "priced-*": { input_per_million: 1, output_per_million: 0 } }
state:
  redis: { url: "${REDIS_URL}", prefix: ${prefix}-keyed }
  store: { type: postgres, url: "${DATABASE_URL}", schema: ${schema} }
`;

// Answers of 20,010 tokens each, on a key with a limit large enough to be held in blocks (no concurrency limit).
const heavyConfig = `
providers: { heavy: { type: mock, usage: { prompt_tokens: 20000, completion_tokens: 10 } } }
models: { echo: { provider: heavy, model: heavy-1 } }
auth:
  enabled: true
  keys:
    - { name: heavy, key: ${HEAVY}, limits: { tokens_per_minute: ${HEAVY_TPM} } }
limits:
  backend: redis
  headers: all
state:
  redis: { url: "${REDIS_URL}", prefix: ${prefix}-heavy }
`;

beforeAll(async () => {
  replicas = await Promise.all([startGateway({ config: globalConfig }), startGateway({ config: globalConfig })]);
  keyed = await Promise.all([startGateway({ config: keyedConfig }), startGateway({ config: keyedConfig })]);
  heavy = await startGateway({ config: heavyConfig });
}, 30_000);

afterAll(async () => {
  await Promise.all([...replicas, ...keyed, ...(heavy ? [heavy] : [])].map((gateway) => gateway.stop()));
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`{${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

async function ask(gateway: GatewayProcess, headers: Record<string, string> = {}, model = 'echo'): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Asks until the answer is `wanted` (at most 5 s), and returns the last answer. */
async function eventually(attempt: () => Promise<number>, wanted: number): Promise<number> {
  const deadline = Date.now() + 5000;
  let status = await attempt();
  while (status !== wanted && Date.now() < deadline) {
    await sleep(100);
    status = await attempt();
  }
  return status;
}

/** `total` requests to one gateway, `connections` at a time. */
async function load(gateway: GatewayProcess, total: number, connections: number): Promise<number[]> {
  const statuses: number[] = [];
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < total) {
      sent++;
      statuses.push(await ask(gateway));
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return statuses;
}

describe('limits shared by replicas through Redis', () => {
  it('two gateways under concurrent load hold one global limit', async () => {
    const started = performance.now();
    const [a, b] = await Promise.all(replicas.map((gateway) => load(gateway, 200, 16)));
    const seconds = (performance.now() - started) / 1000;
    const admitted = [...(a ?? []), ...(b ?? [])].filter((status) => status === 200).length;
    const refused = [...(a ?? []), ...(b ?? [])].filter((status) => status === 429).length;
    expect(admitted + refused).toBe(400);
    // Tolerance: the bucket refills GLOBAL_RPM a minute while the test runs, and nothing else.
    const refill = Math.ceil((GLOBAL_RPM * seconds) / 60);
    expect(admitted).toBeGreaterThanOrEqual(GLOBAL_RPM);
    expect(admitted).toBeLessThanOrEqual(GLOBAL_RPM + refill);
    // Both replicas admitted some: the limit is shared, not split or duplicated.
    expect(a?.filter((status) => status === 200).length).toBeGreaterThan(0);
    expect(b?.filter((status) => status === 200).length).toBeGreaterThan(0);
  });

  it('share budgets: spend on one replica blocks the key on the other', async () => {
    const [one, two] = keyed as [GatewayProcess, GatewayProcess];
    const key = { authorization: `Bearer ${SHARED}` };
    const statuses = [];
    for (const gateway of [one, two, one, two, one]) {
      statuses.push(await ask(gateway, key));
      await sleep(30); // spend is added just after each response
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    // The last request's spend lands just after its answer; then both replicas refuse.
    expect(await eventually(() => ask(two, key), 429)).toBe(429);
    expect(await ask(one, key)).toBe(429);
  });

  it('free a concurrency slot before the same replica decides the caller’s next request, and soon after on the others', async () => {
    const [one, two] = keyed as [GatewayProcess, GatewayProcess];
    const key = { authorization: `Bearer ${SOLO}` };
    // On one replica the release always goes to Redis ahead of the next decision.
    const onOne = [];
    for (let i = 0; i < 8; i++) onOne.push(await ask(one, key));
    expect(onOne).toEqual(Array(8).fill(200));
    // Across replicas the release lands within a Redis round trip of the response, not before
    // it: the other replica sees the slot free moments later, then holds it the same way.
    expect(await eventually(() => ask(two, key), 200)).toBe(200);
    const onTwo = [];
    for (let i = 0; i < 8; i++) onTwo.push(await ask(two, key));
    expect(onTwo).toEqual(Array(8).fill(200));
    // Two at once, on two replicas, each holding its slot for 300 ms: one of them is refused.
    const [first, second] = await Promise.all([ask(one, key, 'slow'), ask(two, key, 'slow')]);
    expect([first, second].toSorted()).toEqual([200, 429]);
  });

  it('count answers far above their estimate against a tokens-per-minute limit held in blocks', async () => {
    const gateway = heavy as GatewayProcess;
    const answers: Array<{ status: number; remaining: number }> = [];
    for (let i = 0; i < 12; i++) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${HEAVY}` },
        body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await response.arrayBuffer();
      answers.push({ status: response.status, remaining: Number(response.headers.get('x-ratelimit-remaining-tokens')) });
      await sleep(30); // the correction is settled just after each answer
    }
    const admitted = answers.filter((answer) => answer.status === 200);
    // As with limits in memory: three answers spend 60,030 of the 64,000 tokens, a fourth is
    // admitted and overdraws the bucket, then 429s (a block the replica holds may let one more in).
    expect(admitted.length).toBeGreaterThanOrEqual(4);
    expect(admitted.length).toBeLessThanOrEqual(5);
    expect(answers.slice(admitted.length).every((answer) => answer.status === 429)).toBe(true);
    // The headers count what the answer before used (less the little that refilled since).
    expect(admitted[1]?.remaining).toBeLessThan(HEAVY_TPM - 19_000);
    const redis = new Redis(REDIS_URL);
    const [bucket] = await redis.keys(`{${prefix}-heavy}*t:k:*`);
    const level = Number(await redis.hget(bucket ?? '', 'v'));
    redis.disconnect();
    expect(level).toBeLessThan(0);
    expect(level).toBeGreaterThan(-2 * 20_010);
  });

  it('share keys through the store: a key made on one replica works on the other', async () => {
    const [one, two] = keyed as [GatewayProcess, GatewayProcess];
    const created = await fetch(`${one.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ name: `made-on-one-${run}` }),
    });
    const secret = ((await created.json()) as { key: string }).key;
    // Picked up by the other replica within a refresh period or two.
    expect(await eventually(() => ask(two, { authorization: `Bearer ${secret}` }), 200)).toBe(200);
    await fetch(`${two.url}/admin/keys/made-on-one-${run}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(await eventually(() => ask(one, { authorization: `Bearer ${secret}` }), 401)).toBe(401);
  });
});
