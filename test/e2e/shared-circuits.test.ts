import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { FAULTS } from '../fakes/upstream-faults.ts';
import { ask } from '../support/ask.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { targetOf } from '../support/target-headers.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = `lightport-test-${randomUUID()}:`;

let primary: OpenAIUpstream;
let backup: OpenAIUpstream;
let first: GatewayProcess;
let second: GatewayProcess;

const config = (failures = 2) => `
providers:
  primary: { type: openai-compatible, base_url: "${primary.url}", api_key: sk-test }
  backup: { type: openai-compatible, base_url: "${backup.url}", api_key: sk-test }
router:
  circuit: { failures: ${failures}, min_requests: 1000, open_ms: 30000 }
  redis: { url: "${REDIS_URL}", key_prefix: "${PREFIX}" }
models:
  guarded: { strategy: fallback, targets: [primary/gpt-4o-mini, backup/gpt-4o-mini] }
`;

beforeAll(async () => {
  [primary, backup] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream()]);
  // The second replica would never open the circuit on its own: only the first one's notice can.
  [first, second] = await Promise.all([startGateway({ config: config() }), startGateway({ config: config(1000) })]);
});

afterAll(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
  await Promise.all([primary?.close(), backup?.close()]);
  const redis = new Redis(REDIS_URL);
  await redis.del(`${PREFIX}circuits`);
  await redis.quit();
});

describe('two gateway processes sharing circuit state through Redis', () => {
  it("one replica's open circuit spares the other replica the failing target within a second", async () => {
    // Both replicas have served the primary, so both have it healthy and closed.
    expect(targetOf((await ask(first.url, 'guarded')).headers)).toBe('primary/gpt-4o-mini');
    expect(targetOf((await ask(second.url, 'guarded')).headers)).toBe('primary/gpt-4o-mini');

    primary.setFault(FAULTS.serverError());
    for (let i = 0; i < 2; i++) expect((await ask(first.url, 'guarded')).headers.get('x-lightport-attempts')).toBe('2');
    const primaryCalls = primary.chatRequests();
    const opened = Date.now();

    // The second replica never saw a failure; it learns of the open circuit from the first.
    let answer = await ask(second.url, 'guarded');
    while (answer.headers.get('x-lightport-fallback-reason') !== 'circuit_open' && Date.now() - opened < 1000) {
      await sleep(20);
      answer = await ask(second.url, 'guarded');
    }
    expect(Date.now() - opened).toBeLessThan(1000);
    expect(targetOf(answer.headers)).toBe('backup/gpt-4o-mini');
    expect(answer.headers.get('x-lightport-attempts')).toBe('1');
    const learned = primary.chatRequests();
    for (let i = 0; i < 5; i++) expect((await ask(second.url, 'guarded')).headers.get('x-lightport-fallback-reason')).toBe('circuit_open');
    expect(primary.chatRequests()).toBe(learned);
    // At most a request racing the notice reached the failing primary.
    expect(learned - primaryCalls).toBeLessThanOrEqual(1);
  });

  it('a replica that starts later loads the open circuits from Redis', async () => {
    const late = await startGateway({ config: config(1000) });
    try {
      await sleep(300);
      const before = primary.chatRequests();
      const answer = await ask(late.url, 'guarded');
      expect(answer.headers.get('x-lightport-fallback-reason')).toBe('circuit_open');
      expect(primary.chatRequests()).toBe(before);
    } finally {
      await late.stop();
    }
  });
});
