import type { BucketUse } from './backend.ts';
import type { AuthorizedKey } from './key-directory.ts';
import type { LimitPlan } from './plan.ts';

/** Models remembered per key (and for requests without one): model names come from callers. */
const MOST_MODELS = 256;

/**
 * The plans of recent (key, model) pairs, built once. A plan is the same for every request of a
 * key and model except the cost of its token buckets, the request's own estimate: rebuilding it
 * per request took seven new objects and growing six arrays. Keyed by the key's object, which
 * the directory replaces when the key (or its limits) changes.
 */
export class PlanCache {
  readonly #byKey = new WeakMap<AuthorizedKey, Map<string, LimitPlan>>();
  readonly #keyless = new Map<string, LimitPlan>();

  /** The fixed part of the plan of `key` on `model`, when it was made before. */
  get(key: AuthorizedKey | undefined, model: string): LimitPlan | undefined {
    return (key === undefined ? this.#keyless : this.#byKey.get(key))?.get(model);
  }

  /** Remembers the fixed part of a plan (its token buckets' cost is each request's own); returns it. */
  set(key: AuthorizedKey | undefined, model: string, fixed: LimitPlan): LimitPlan {
    let plans = key === undefined ? this.#keyless : this.#byKey.get(key);
    if (plans === undefined) {
      plans = new Map();
      this.#byKey.set(key as AuthorizedKey, plans);
    }
    if (plans.size >= MOST_MODELS) plans.clear();
    plans.set(model, fixed);
    return fixed;
  }
}

/** A cached plan with its token buckets costing this request's estimate (the cached plan itself is never changed). */
export function withTokenCost(fixed: LimitPlan, cost: number): LimitPlan {
  const buckets = fixed.buckets.slice();
  for (const position of fixed.tokenBuckets) {
    const bucket = buckets[position] as BucketUse;
    buckets[position] = { key: bucket.key, capacity: bucket.capacity, cost };
  }
  return {
    buckets,
    leases: fixed.leases,
    requestBuckets: fixed.requestBuckets,
    tokenBuckets: fixed.tokenBuckets,
    dimensions: fixed.dimensions,
    leaseDimensions: fixed.leaseDimensions,
    memo: fixed.memo,
  };
}
