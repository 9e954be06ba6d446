import {
  MINUTE_MS,
  NOTHING_CROSSED,
  reached,
  type Admission,
  type AdmitRequest,
  type BucketUse,
  type BudgetUse,
  type CrossedThreshold,
  type LeaseUse,
  type LimitBackend,
  type PlanMemo,
  type SettleRequest,
  type Settled,
  type SpendSeed,
} from './backend.ts';

/** Updated in place: a busy bucket is one long-lived object, not a new one per request. */
interface Bucket {
  tokens: number;
  at: number;
  capacity: number;
}

/** Leases held on one concurrency limit. */
interface LeaseSet {
  held: number;
}

/** What a bucket holds at `now`: it refills `capacity` a minute, up to `capacity`. */
function levelOf(bucket: Bucket, capacity: number, now: number): number {
  const level = bucket.tokens + ((now - bucket.at) * capacity) / MINUTE_MS;
  return level < capacity ? level : capacity;
}

interface Spend {
  usd: number;
  readonly fired: Set<number>;
  expiresAt: number;
}

const SWEEP_MS = MINUTE_MS;

/** Limits for one process. Buckets that have refilled and idle spend totals are swept once a minute. */
export class MemoryBackend implements LimitBackend {
  readonly #buckets = new Map<string, Bucket>();
  readonly #leases = new Map<string, LeaseSet>();
  /**
   * Scratch lists for one admission (admissions run one at a time), written by position and never
   * emptied: emptying an array (`length = 0`) drops its storage, and the next admission grew it again.
   */
  readonly #heldBuckets: Bucket[] = [];
  readonly #heldLeases: LeaseSet[] = [];
  readonly #spend = new Map<string, Spend>();
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;
  /** Counts the sweeps that dropped buckets or lease sets: a memo filled before one is stale. */
  #generation = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS).unref();
  }

  admit(request: AdmitRequest): Admission {
    const now = this.#now();
    const { buckets, leases, budgets, memo } = request;
    // Each bucket and lease set is looked up once: the checks and the updates below share it. A
    // cached plan's memo has them from its earlier requests, unless a sweep has dropped some since.
    const remembered = memo !== undefined && this.#current(memo);
    const held = remembered ? (memo.buckets as Bucket[]) : this.#heldBuckets;
    const sets = remembered ? (memo.leases as LeaseSet[]) : this.#heldLeases;
    const levels: number[] = [];
    for (let index = 0; index < buckets.length; index++) {
      const use = buckets[index] as BucketUse;
      const bucket = remembered ? (held[index] as Bucket) : this.#bucket(use, now);
      held[index] = bucket;
      levels.push(levelOf(bucket, use.capacity, now));
    }
    for (let index = 0; index < budgets.length; index++) {
      const budget = budgets[index] as BudgetUse;
      const spent = this.#spendAt(budget.key, now)?.usd ?? 0;
      if (reached(spent, budget.limitUsd, 1))
        return { kind: 'refused', reason: 'budget', index, retryAfterMs: 0, remaining: levels, spentUsd: spent };
    }
    for (let index = 0; index < leases.length; index++) {
      const lease = leases[index] as LeaseUse;
      const set = remembered ? (sets[index] as LeaseSet) : this.#leaseSet(lease.key);
      sets[index] = set;
      if (set.held >= lease.limit) return { kind: 'refused', reason: 'concurrency', index, retryAfterMs: 1000, remaining: levels };
    }
    if (memo !== undefined && !remembered) this.#remember(memo, buckets.length, leases.length);
    for (let index = 0; index < buckets.length; index++) {
      const use = buckets[index] as BucketUse;
      const level = levels[index] as number;
      if (use.cost > level) {
        const retryAfterMs = Math.ceil(((use.cost - level) * MINUTE_MS) / use.capacity);
        return { kind: 'refused', reason: 'rate', index, retryAfterMs, remaining: levels };
      }
    }
    for (let index = 0; index < buckets.length; index++) {
      const use = buckets[index] as BucketUse;
      const left = (levels[index] as number) - use.cost;
      levels[index] = left;
      const bucket = held[index] as Bucket;
      bucket.tokens = left;
      bucket.at = now;
      bucket.capacity = use.capacity;
    }
    for (let index = 0; index < leases.length; index++) (sets[index] as LeaseSet).held++;
    return { kind: 'admitted', remaining: levels };
  }

  settle(request: SettleRequest): Settled {
    const now = this.#now();
    const { adjust, adjustAt, leases, memo } = request;
    const remembered = memo !== undefined && this.#current(memo);
    // Indexed loops: this runs once per request, often before the optimizing compiler has reached it.
    for (let index = 0; index < adjust.length; index++) {
      const use = adjust[index] as BucketUse;
      const position = adjustAt?.[index];
      const bucket = remembered && position !== undefined ? (memo.buckets[position] as Bucket) : this.#bucket(use, now);
      // A refund (negative cost) fills no further than capacity.
      const tokens = levelOf(bucket, use.capacity, now) - use.cost;
      bucket.tokens = tokens < use.capacity ? tokens : use.capacity;
      bucket.at = now;
      bucket.capacity = use.capacity;
    }
    // A count that drops to zero stays (the sweep removes it), so a busy key does not churn the map.
    for (let index = 0; index < leases.length; index++) {
      const set = remembered ? (memo.leases[index] as LeaseSet) : this.#leases.get((leases[index] as LeaseUse).key);
      if (set !== undefined && set.held > 0) set.held--;
    }
    if (request.spend.length === 0) return NOTHING_CROSSED;
    const crossed: CrossedThreshold[] = [];
    for (const [index, use] of request.spend.entries()) {
      const spend = this.#spendAt(use.key, now) ?? this.#newSpend(use.key, use.expiresAt);
      spend.usd += use.usd;
      for (const threshold of use.thresholds) {
        if (spend.fired.has(threshold) || !reached(spend.usd, use.limitUsd, threshold)) continue;
        spend.fired.add(threshold);
        crossed.push({ index, threshold, spentUsd: spend.usd });
      }
    }
    return { crossed };
  }

  async seedSpend(entries: readonly SpendSeed[]): Promise<void> {
    const now = this.#now();
    for (const entry of entries) {
      const spend = this.#spendAt(entry.key, now) ?? this.#newSpend(entry.key, entry.expiresAt);
      spend.usd = Math.max(spend.usd, entry.usd);
      for (const threshold of entry.thresholds) if (reached(spend.usd, entry.limitUsd, threshold)) spend.fired.add(threshold);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  /** Whether this backend filled the memo since its last sweep dropped anything. */
  #current(memo: PlanMemo): boolean {
    return memo.owner === this && memo.generation === this.#generation;
  }

  /** Keeps the buckets and lease sets just looked up (in the scratch lists) in the plan's memo. */
  #remember(memo: PlanMemo, buckets: number, leases: number): void {
    memo.buckets = this.#heldBuckets.slice(0, buckets);
    memo.leases = this.#heldLeases.slice(0, leases);
    memo.owner = this;
    memo.generation = this.#generation;
  }

  /** The bucket's state; a bucket seen for the first time starts full (the same as no bucket). */
  #bucket(use: BucketUse, now: number): Bucket {
    let bucket = this.#buckets.get(use.key);
    if (bucket === undefined) {
      bucket = { tokens: use.capacity, at: now, capacity: use.capacity };
      this.#buckets.set(use.key, bucket);
    }
    return bucket;
  }

  #leaseSet(key: string): LeaseSet {
    let set = this.#leases.get(key);
    if (set === undefined) {
      set = { held: 0 };
      this.#leases.set(key, set);
    }
    return set;
  }

  #spendAt(key: string, now: number): Spend | undefined {
    const spend = this.#spend.get(key);
    return spend === undefined || spend.expiresAt <= now ? undefined : spend;
  }

  #newSpend(key: string, expiresAt: number): Spend {
    const spend: Spend = { usd: 0, fired: new Set(), expiresAt };
    this.#spend.set(key, spend);
    return spend;
  }

  /** A bucket that has refilled is the same as no bucket. Memos that may hold a dropped one go stale. */
  #sweep(): void {
    const now = this.#now();
    const before = this.#buckets.size + this.#leases.size;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) * bucket.capacity) / MINUTE_MS >= bucket.capacity) this.#buckets.delete(key);
    }
    for (const [key, spend] of this.#spend) if (spend.expiresAt <= now) this.#spend.delete(key);
    for (const [key, set] of this.#leases) if (set.held === 0) this.#leases.delete(key);
    if (this.#buckets.size + this.#leases.size !== before) this.#generation++;
  }
}
