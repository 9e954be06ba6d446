import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { testRedis } from '../../test/support/test-redis.ts';
import type { AdmitRequest, LimitBackend, SettleRequest } from './backend.ts';
import { MemoryBackend } from './memory-backend.ts';
import { RedisBackend } from './redis-backend.ts';
import { ReservingBackend } from './reserving-backend.ts';

const { redis, prefix, key } = testRedis('test');
let unique = 0;
const admit = (partial: Partial<AdmitRequest>): AdmitRequest => ({
  buckets: [],
  leases: [],
  budgets: [],
  leaseId: `lease-${unique++}`,
  leaseTtlMs: 60_000,
  ...partial,
});
const settle = (partial: Partial<SettleRequest>): SettleRequest => ({ adjust: [], leases: [], leaseId: 'none', spend: [], ...partial });
const day = (): number => Date.now() + 86_400_000;

const backends: Array<[string, () => LimitBackend]> = [
  ['memory', () => new MemoryBackend()],
  ['redis', () => new RedisBackend(redis)],
  // These cases' limits are under 64, which the reserving layer leaves to Redis request by request.
  ['reserving redis', () => new ReservingBackend(new RedisBackend(redis))],
];

describe.each(backends)('%s backend', (_name, make) => {
  const backend = make();

  it('admits up to a bucket’s capacity, then refuses with the wait for one token', async () => {
    const bucket = key('rpm');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await backend.admit(admit({ buckets: [{ key: bucket, capacity: 3, cost: 1 }] })));
    expect(results.map((result) => result.kind)).toEqual(['admitted', 'admitted', 'admitted', 'refused']);
    expect(results[2]?.remaining[0]).toBeCloseTo(0, 0);
    const refused = results[3];
    expect(refused).toMatchObject({ kind: 'refused', reason: 'rate', index: 0 });
    // 3 per minute: one token every 20 s.
    expect(refused?.kind === 'refused' && refused.retryAfterMs).toBeGreaterThan(19_000);
    expect(refused?.kind === 'refused' && refused.retryAfterMs).toBeLessThanOrEqual(20_000);
  });

  it('decides requests that arrive together one by one (Redis sends them in one batch)', async () => {
    const bucket = key('together');
    const slots = key('together-slots');
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        backend.admit(admit({ buckets: [{ key: bucket, capacity: 4, cost: 1 }], leases: [{ key: slots, limit: 3 }] })),
      ),
    );
    expect(results.map((result) => result.kind)).toEqual(['admitted', 'admitted', 'admitted', 'refused', 'refused', 'refused']);
    expect(results.map((result) => (result.kind === 'refused' ? result.reason : 'ok'))).toEqual([
      'ok',
      'ok',
      'ok',
      'concurrency',
      'concurrency',
      'concurrency',
    ]);
    expect(results.slice(0, 3).map((result) => Math.round(result.remaining[0] ?? -1))).toEqual([3, 2, 1]);
  });

  it('refills at capacity per minute', async () => {
    const bucket = key('fast');
    // 60 000 a minute is one a millisecond.
    expect(await backend.admit(admit({ buckets: [{ key: bucket, capacity: 60_000, cost: 60_000 }] }))).toMatchObject({ kind: 'admitted' });
    expect(await backend.admit(admit({ buckets: [{ key: bucket, capacity: 60_000, cost: 1000 }] }))).toMatchObject({ kind: 'refused' });
    await sleep(1100);
    expect(await backend.admit(admit({ buckets: [{ key: bucket, capacity: 60_000, cost: 1000 }] }))).toMatchObject({ kind: 'admitted' });
  });

  it('takes nothing from any bucket when one of them refuses', async () => {
    const roomy = key('roomy');
    const full = key('full');
    await backend.admit(admit({ buckets: [{ key: full, capacity: 1, cost: 1 }] }));
    const refused = await backend.admit(
      admit({
        buckets: [
          { key: roomy, capacity: 10, cost: 4 },
          { key: full, capacity: 1, cost: 1 },
        ],
      }),
    );
    expect(refused).toMatchObject({ kind: 'refused', reason: 'rate', index: 1 });
    const next = await backend.admit(admit({ buckets: [{ key: roomy, capacity: 10, cost: 4 }] }));
    expect(next.remaining[0]).toBeCloseTo(6, 0);
  });

  it('corrects a token estimate after the fact, below zero when the usage was larger', async () => {
    const tokens = key('tpm');
    await backend.admit(admit({ buckets: [{ key: tokens, capacity: 1000, cost: 100 }] }));
    await backend.settle(settle({ adjust: [{ key: tokens, capacity: 1000, cost: 1400 }] }));
    const refused = await backend.admit(admit({ buckets: [{ key: tokens, capacity: 1000, cost: 10 }] }));
    expect(refused).toMatchObject({ kind: 'refused', reason: 'rate' });
    expect(refused.remaining[0]).toBeLessThan(-400);
    // A refund never fills a bucket past its capacity.
    await backend.settle(settle({ adjust: [{ key: tokens, capacity: 1000, cost: -5000 }] }));
    expect((await backend.admit(admit({ buckets: [{ key: tokens, capacity: 1000, cost: 0 }] }))).remaining[0]).toBeCloseTo(1000, 0);
  });

  it('holds concurrency leases until they are settled', async () => {
    const slots = key('concurrent');
    const first = admit({ leases: [{ key: slots, limit: 2 }] });
    const second = admit({ leases: [{ key: slots, limit: 2 }] });
    expect(await backend.admit(first)).toMatchObject({ kind: 'admitted' });
    expect(await backend.admit(second)).toMatchObject({ kind: 'admitted' });
    expect(await backend.admit(admit({ leases: [{ key: slots, limit: 2 }] }))).toMatchObject({ kind: 'refused', reason: 'concurrency' });
    await backend.settle(settle({ leases: [{ key: slots, limit: 2 }], leaseId: first.leaseId }));
    expect(await backend.admit(admit({ leases: [{ key: slots, limit: 2 }] }))).toMatchObject({ kind: 'admitted' });
  });

  it('blocks a budget once its spend reaches the limit, and fires each threshold once', async () => {
    const spend = key('spend');
    const use = { key: spend, limitUsd: 1, thresholds: [0.5, 0.8, 1], expiresAt: day() };
    const crossed = [];
    for (const usd of [0.3, 0.3, 0.1, 0.15, 0.2, 0.5]) crossed.push((await backend.settle(settle({ spend: [{ ...use, usd }] }))).crossed);
    expect(crossed.map((list) => list.map((entry) => entry.threshold))).toEqual([[], [0.5], [], [0.8], [1], []]);
    expect(crossed[4]?.[0]?.spentUsd).toBeCloseTo(1.05, 6);
    const refused = await backend.admit(admit({ budgets: [{ key: spend, limitUsd: 1 }] }));
    expect(refused).toMatchObject({ kind: 'refused', reason: 'budget', index: 0 });
    expect(refused.kind === 'refused' && refused.spentUsd).toBeCloseTo(1.55, 6);
    expect(await backend.admit(admit({ budgets: [{ key: spend, limitUsd: 2 }] }))).toMatchObject({ kind: 'admitted' });
  });

  it('seeds spend from the store without lowering it, marking passed thresholds as fired', async () => {
    const spend = key('seeded');
    const entry = { key: spend, limitUsd: 10, thresholds: [0.5, 0.8], expiresAt: day() };
    await backend.seedSpend([{ ...entry, usd: 6 }]);
    await backend.seedSpend([{ ...entry, usd: 2 }]);
    const settled = await backend.settle(settle({ spend: [{ ...entry, usd: 2.5 }] }));
    expect(settled.crossed).toEqual([{ index: 0, threshold: 0.8, spentUsd: expect.closeTo(8.5, 6) as number }]);
  });
});

describe('redis backend keys', () => {
  it('stays on one hash slot: every key of a decision carries the same {hash tag}', async () => {
    const before = new Set(await redis.keys(`${prefix}*`));
    const backend = new RedisBackend(redis);
    const tag = `${prefix}`.slice(0, prefix.indexOf('}') + 1);
    await backend.admit(
      admit({
        buckets: [{ key: key('slot-a'), capacity: 5, cost: 1 }],
        leases: [{ key: key('slot-b'), limit: 5 }],
        budgets: [{ key: key('slot-c'), limitUsd: 1 }],
      }),
    );
    const written = (await redis.keys(`${prefix}*`)).filter((name) => !before.has(name));
    expect(written.length).toBe(2);
    for (const name of written) expect(name.startsWith(tag)).toBe(true);
  });
});
