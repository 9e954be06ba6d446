import { afterEach, describe, expect, it, vi } from 'vitest';
import { PlanMemo, type AdmitRequest, type BucketUse, type LeaseUse } from './backend.ts';
import { MemoryBackend } from './memory-backend.ts';

const bucket = (capacity: number, cost = 1): BucketUse => ({ key: 'r:k:bench', capacity, cost });
const slots: LeaseUse = { key: 'c:k:bench', limit: 1 };
let leases = 0;
const admission = (buckets: BucketUse[], memo?: PlanMemo, leaseSets: LeaseUse[] = []): AdmitRequest => ({
  buckets,
  leases: leaseSets,
  budgets: [],
  leaseId: `lease-${leases++}`,
  leaseTtlMs: 60_000,
  ...(memo ? { memo } : {}),
});

describe('memory backend with a plan memo', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shares the state a lookup by key finds', () => {
    const backend = new MemoryBackend();
    const memo = new PlanMemo();
    expect(backend.admit(admission([bucket(3)], memo))).toMatchObject({ kind: 'admitted' });
    expect(backend.admit(admission([bucket(3)], memo))).toMatchObject({ kind: 'admitted' });
    const third = backend.admit(admission([bucket(3)]));
    expect(third.kind).toBe('admitted');
    expect(third.remaining[0]).toBeCloseTo(0, 2);
    expect(backend.admit(admission([bucket(3)], memo))).toMatchObject({ kind: 'refused', reason: 'rate' });
    void backend.close();
  });

  it('releases through the memo the lease set a lookup by key finds', () => {
    const backend = new MemoryBackend();
    const memo = new PlanMemo();
    expect(backend.admit(admission([], memo, [slots]))).toMatchObject({ kind: 'admitted' });
    expect(backend.admit(admission([], undefined, [slots]))).toMatchObject({ kind: 'refused', reason: 'concurrency' });
    backend.settle({ adjust: [], adjustAt: [], memo, leases: [slots], leaseId: 'any', spend: [] });
    expect(backend.admit(admission([], undefined, [slots]))).toMatchObject({ kind: 'admitted' });
    void backend.close();
  });

  it('corrects token estimates through the memo, by position', () => {
    const backend = new MemoryBackend();
    const memo = new PlanMemo();
    const requests = { key: 'r:k:bench', capacity: 100, cost: 1 };
    const tokens = { key: 't:k:bench', capacity: 1000, cost: 100 };
    backend.admit(admission([requests, tokens], memo));
    // The request used 900 tokens, not 100: the bucket at position 1 is 800 lower.
    backend.settle({ adjust: [{ ...tokens, cost: 800 }], adjustAt: [1], memo, leases: [], leaseId: 'any', spend: [] });
    const next = backend.admit(admission([{ ...tokens, cost: 0 }]));
    expect(next.remaining[0]).toBeCloseTo(100, 0);
    void backend.close();
  });

  it('does not trust a memo filled before a sweep dropped its bucket', () => {
    vi.useFakeTimers();
    const backend = new MemoryBackend();
    const memo = new PlanMemo();
    expect(backend.admit(admission([bucket(2)], memo))).toMatchObject({ kind: 'admitted' });
    // A minute on, the bucket has refilled and the sweep drops it; a lookup by key starts a new one.
    vi.advanceTimersByTime(61_000);
    expect(backend.admit(admission([bucket(2)]))).toMatchObject({ kind: 'admitted' });
    expect(backend.admit(admission([bucket(2)]))).toMatchObject({ kind: 'admitted' });
    // The memo still names the dropped bucket, which holds one token: trusting it would admit.
    expect(backend.admit(admission([bucket(2)], memo))).toMatchObject({ kind: 'refused', reason: 'rate' });
    void backend.close();
  });

  it('does not use a memo another backend filled', () => {
    const first = new MemoryBackend();
    const second = new MemoryBackend();
    const memo = new PlanMemo();
    first.admit(admission([bucket(1)], memo));
    expect(first.admit(admission([bucket(1)], memo))).toMatchObject({ kind: 'refused' });
    expect(second.admit(admission([bucket(1)], memo))).toMatchObject({ kind: 'admitted' });
    void first.close();
    void second.close();
  });
});
