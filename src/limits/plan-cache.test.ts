import { describe, expect, it } from 'vitest';
import type { AuthorizedKey } from './key-directory.ts';
import { PlanCache, withTokenCost } from './plan-cache.ts';
import { addToPlan, compileLimitSpec, emptyPlan, type LimitPlan } from './plan.ts';

const limits = { requests_per_minute: 60, tokens_per_minute: 1000, concurrent: 2 };
const keyObject = (): AuthorizedKey => ({}) as AuthorizedKey;

function planFor(model: string): LimitPlan {
  const plan = emptyPlan();
  addToPlan(plan, compileLimitSpec('p:', 'model', model, limits), 'model', () => 0);
  addToPlan(plan, compileLimitSpec('p:', 'global', 'all', { requests_per_minute: 10 }), 'global', () => 0);
  return plan;
}

describe('PlanCache', () => {
  it('remembers a (key, model) plan, and each request gets its own token cost without changing it', () => {
    const cache = new PlanCache();
    const key = keyObject();
    expect(cache.get(key, 'gpt')).toBeUndefined();
    const fixed = cache.set(key, 'gpt', planFor('gpt'));
    expect(cache.get(key, 'gpt')).toBe(fixed);
    const first = withTokenCost(fixed, 120);
    const second = withTokenCost(fixed, 7);
    expect(first.buckets.map((bucket) => bucket.cost)).toEqual([1, 120, 1]);
    expect(second.buckets.map((bucket) => bucket.cost)).toEqual([1, 7, 1]);
    expect(first.tokenBuckets).toEqual([1]);
    expect(first.leases).toEqual([{ key: 'p:c:m:gpt', limit: 2 }]);
    // The first request's plan kept its cost, and the cached plan still costs nothing: it is copied, never changed.
    expect(first.buckets[1]?.cost).toBe(120);
    expect(fixed.buckets[1]?.cost).toBe(0);
  });

  it('keeps plans apart by model and by key object (a replaced key gets a new plan)', () => {
    const cache = new PlanCache();
    const key = keyObject();
    const a = cache.set(key, 'a', planFor('a'));
    const b = cache.set(key, 'b', planFor('b'));
    const keyless = cache.set(undefined, 'a', planFor('a'));
    expect(cache.get(key, 'a')).toBe(a);
    expect(cache.get(key, 'b')).toBe(b);
    expect(cache.get(undefined, 'a')).toBe(keyless);
    expect(cache.get(keyObject(), 'a')).toBeUndefined();
    expect(cache.get(undefined, 'b')).toBeUndefined();
  });
});
