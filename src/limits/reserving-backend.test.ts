import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { testRedis } from '../../test/support/test-redis.ts';
import type { Admission, AdmitRequest, LimitBackend, SettleRequest } from './backend.ts';
import { RedisBackend } from './redis-backend.ts';
import { ReservingBackend } from './reserving-backend.ts';

const { redis, key } = testRedis('reserve');
let unique = 0;

/** The real Redis backend, with the decisions it was asked for counted by lease id. */
class CountedRedis implements LimitBackend {
  readonly #inner = new RedisBackend(redis);
  requestAdmissions = 0;
  admit(request: AdmitRequest): Promise<Admission> {
    if (request.leaseId.startsWith('request-')) this.requestAdmissions++;
    return this.#inner.admit(request);
  }
  settle(request: SettleRequest) {
    return this.#inner.settle(request);
  }
  seedSpend() {
    return Promise.resolve();
  }
  close() {
    return Promise.resolve();
  }
}

function asking(buckets: AdmitRequest['buckets'], leases: AdmitRequest['leases']): AdmitRequest {
  return { buckets, leases, budgets: [], leaseId: `request-${unique++}`, leaseTtlMs: 60_000 };
}

const release = (admitted: AdmitRequest): SettleRequest => ({ adjust: [], leases: admitted.leases, leaseId: admitted.leaseId, spend: [] });

/** Lets background top-ups reach Redis and come back. */
const settleDown = (): Promise<void> => sleep(20);

describe('reserving backend (real Redis)', () => {
  it('decides most requests without Redis once it holds tokens and slots', async () => {
    const counted = new CountedRedis();
    const backend = new ReservingBackend(counted);
    const buckets = [
      { key: key('rpm'), capacity: 100_000, cost: 1 },
      { key: key('tpm'), capacity: 1_000_000, cost: 40 },
    ];
    const leases = [{ key: key('slots'), limit: 10_000 }];
    let admitted = 0;
    for (let n = 0; n < 1000; n++) {
      const asked = asking(buckets, leases);
      const admission = await backend.admit(asked);
      if (admission.kind === 'admitted') admitted++;
      await backend.settle({ ...release(asked), adjust: [{ key: buckets[1]!.key, capacity: 1_000_000, cost: -10 }] });
      if (n % 100 === 0) await settleDown();
    }
    expect(admitted).toBe(1000);
    expect(counted.requestAdmissions).toBeLessThanOrEqual(20);
    // Slots held for the block, none for requests that ended.
    expect(await redis.zcard(leases[0]!.key)).toBeLessThanOrEqual(10_000 / 64);
  });

  it('two replicas never hold more concurrency slots than the limit between them', async () => {
    const limit = 1024;
    const slots = key('shared-slots');
    const replicas = [new ReservingBackend(new CountedRedis()), new ReservingBackend(new CountedRedis())];
    let admitted = 0;
    for (let round = 0; round < 30; round++) {
      const decisions = await Promise.all(
        replicas.flatMap((replica) => Array.from({ length: 25 }, () => replica.admit(asking([], [{ key: slots, limit }])))),
      );
      admitted += decisions.filter((decision) => decision.kind === 'admitted').length;
      await settleDown();
    }
    // 1500 asked, none released: never more than the limit, and the limit is usable but for what
    // the two replicas hold unused (at most a block of 16 each).
    expect(admitted).toBeLessThanOrEqual(limit);
    expect(admitted).toBeGreaterThanOrEqual(limit - 2 * 16);
    expect(await redis.zcard(slots)).toBeLessThanOrEqual(limit);
  });

  it('two replicas never admit more than a shared request rate between them', async () => {
    const capacity = 2048;
    const bucket = key('shared-rpm');
    const replicas = [new ReservingBackend(new CountedRedis()), new ReservingBackend(new CountedRedis())];
    const started = performance.now();
    let admitted = 0;
    for (let round = 0; round < 30; round++) {
      const decisions = await Promise.all(
        replicas.flatMap((replica) => Array.from({ length: 50 }, () => replica.admit(asking([{ key: bucket, capacity, cost: 1 }], [])))),
      );
      admitted += decisions.filter((decision) => decision.kind === 'admitted').length;
      await settleDown();
    }
    const refill = Math.ceil((capacity * (performance.now() - started)) / 60_000);
    expect(admitted).toBeLessThanOrEqual(capacity + refill);
    // What the two replicas hold unused (a grant of 32 each at most) is all that may go unspent.
    expect(admitted).toBeGreaterThanOrEqual(capacity - 2 * 32);
  });

  it('gives back unused tokens and slots when closed', async () => {
    const bucket = { key: key('refund'), capacity: 64_000, cost: 1 };
    const slots = { key: key('returned'), limit: 4096 };
    const backend = new ReservingBackend(new CountedRedis());
    for (let n = 0; n < 5; n++) {
      const asked = asking([bucket], [slots]);
      await backend.admit(asked);
      await backend.settle(release(asked));
      await settleDown();
    }
    expect(await redis.zcard(slots.key)).toBeGreaterThan(0);
    await backend.close();
    await settleDown();
    expect(await redis.zcard(slots.key)).toBe(0);
    // Five requests spent five tokens (plus a little refill since): the rest of the grant came back.
    const level = Number(await redis.hget(bucket.key, 'v'));
    expect(level).toBeGreaterThanOrEqual(64_000 - 5 - 1);
  });

  it('takes a token correction out of what it holds, leases or not, and sends on what that does not cover', async () => {
    for (const leases of [[], [{ key: key('corrected-slots'), limit: 4096 }]]) {
      const bucket = { key: key('corrected'), capacity: 64_000, cost: 10 };
      const backend = new ReservingBackend(new CountedRedis());
      let admitted = 0;
      for (let n = 0; n < 30; n++) {
        const asked = asking([bucket], leases);
        const admission = await backend.admit(asked);
        if (admission.kind === 'admitted') {
          admitted++;
          // Each answer used 20,010 tokens, not the 10 estimated.
          await backend.settle({ ...release(asked), adjust: [{ key: bucket.key, capacity: bucket.capacity, cost: 20_000 }] });
        }
        await settleDown();
      }
      // As in memory: three answers spend 60,030 of the 64,000, the fourth is admitted and
      // leaves the bucket below zero, the rest are refused (a grant held may let one more in).
      expect(admitted).toBeGreaterThanOrEqual(4);
      expect(admitted).toBeLessThanOrEqual(5);
      // The shared bucket counts every correction, and no more than one answer's overdraft.
      const level = Number(await redis.hget(bucket.key, 'v'));
      expect(level).toBeLessThan(0);
      expect(level).toBeGreaterThan(-20_000);
    }
  });

  it('reports the remaining tokens less a correction it took out of what it holds', async () => {
    const bucket = { key: key('remaining'), capacity: 64_000, cost: 10 };
    const backend = new ReservingBackend(new CountedRedis());
    await backend.admit(asking([bucket], []));
    await settleDown();
    const asked = asking([bucket], []);
    const before = backend.admit(asked);
    expect(before).not.toBeInstanceOf(Promise);
    await backend.settle({ ...release(asked), adjust: [{ key: bucket.key, capacity: bucket.capacity, cost: 300 }] });
    const after = backend.admit(asking([bucket], []));
    expect(after).not.toBeInstanceOf(Promise);
    expect((after as Admission).remaining[0]).toBe(((before as Admission).remaining[0] ?? 0) - 300 - 10);
  });

  it('leaves small limits to Redis, request by request', async () => {
    const counted = new CountedRedis();
    const backend = new ReservingBackend(counted);
    const bucket = { key: key('small'), capacity: 1000, cost: 1 };
    for (let n = 0; n < 20; n++) {
      const asked = asking([bucket], [{ key: key('small-slots'), limit: 100 }]);
      await backend.admit(asked);
      await backend.settle(release(asked));
      await settleDown();
    }
    expect(counted.requestAdmissions).toBe(20);
  });
});
