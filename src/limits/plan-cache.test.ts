import { describe, expect, it } from 'vitest';
import type { AuthorizedKey } from './key-directory.ts';
import { PlanCache } from './plan-cache.ts';
import { addToPlan, compileLimitSpec, emptyPlan, type LimitPlan } from './plan.ts';

const limits = { requests_per_minute: 60, tokens_per_minute: 1000, concurrent: 2 };
const keyObject = (): AuthorizedKey => ({}) as AuthorizedKey;

function counting(): { build: (model: string) => () => LimitPlan; builds: string[] } {
  const builds: string[] = [];
  const build = (model: string) => (): LimitPlan => {
    builds.push(model);
    const plan = emptyPlan();
    addToPlan(plan, compileLimitSpec('p:', 'model', model, limits), 'model', () => 0);
    addToPlan(plan, compileLimitSpec('p:', 'global', 'all', { requests_per_minute: 10 }), 'global', () => 0);
    return plan;
  };
  return { build, builds };
}

describe('PlanCache', () => {
  it('builds a (key, model) plan once and gives each request its own token cost', () => {
    const cache = new PlanCache();
    const key = keyObject();
    const { build, builds } = counting();
    const first = cache.plan(key, 'gpt', () => 120, build('gpt'));
    const second = cache.plan(key, 'gpt', () => 7, build('gpt'));
    expect(builds).toEqual(['gpt']);
    expect(first.buckets.map((bucket) => bucket.cost)).toEqual([1, 120, 1]);
    expect(second.buckets.map((bucket) => bucket.cost)).toEqual([1, 7, 1]);
    expect(first.tokenBuckets).toEqual([1]);
    expect(first.leases).toEqual([{ key: 'p:c:m:gpt', limit: 2 }]);
    // The first request's plan kept its cost: the cached plan is copied, never changed.
    expect(first.buckets[1]?.cost).toBe(120);
  });

  it('keeps plans apart by model and by key object (a replaced key gets a new plan)', () => {
    const cache = new PlanCache();
    const { build, builds } = counting();
    const key = keyObject();
    cache.plan(key, 'a', () => 1, build('a'));
    cache.plan(key, 'b', () => 1, build('b'));
    cache.plan(keyObject(), 'a', () => 1, build('a'));
    cache.plan(undefined, 'a', () => 1, build('a'));
    cache.plan(undefined, 'a', () => 1, build('a'));
    expect(builds).toEqual(['a', 'b', 'a', 'a']);
  });

  it('does not estimate tokens when no bucket counts them', () => {
    const cache = new PlanCache();
    let estimated = 0;
    const plan = cache.plan(
      undefined,
      'm',
      () => ++estimated,
      () => {
        const only = emptyPlan();
        addToPlan(only, compileLimitSpec('p:', 'global', 'all', { requests_per_minute: 10 }), 'global', () => 0);
        return only;
      },
    );
    expect(plan.buckets).toEqual([{ key: 'p:r:g:all', capacity: 10, cost: 1 }]);
    expect(estimated).toBe(0);
  });
});
