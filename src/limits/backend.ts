/**
 * Where limit state lives: one process's memory, or Redis shared by replicas. A backend
 * makes each decision atomically, in one step (one round trip for Redis).
 *
 * Rates are token buckets that hold up to `capacity` and refill `capacity` per minute,
 * so a client may burst up to the limit and then goes at the limit's pace. Concurrency is a
 * set of leases (expiring, so a crashed replica cannot hold slots forever). Spend is a
 * per-period total in USD that also remembers which alert thresholds have fired.
 */
export interface LimitBackend {
  /** Memory decides at once; Redis answers with a promise. */
  admit(request: AdmitRequest): Admission | Promise<Admission>;
  /** After the response: reconcile token estimates, release leases, add spend. */
  settle(request: SettleRequest): Settled | Promise<Settled>;
  /** Raises spend totals to at least the stored ones (after a restart), marking thresholds they passed as fired. */
  seedSpend(entries: readonly SpendSeed[]): Promise<void>;
  close(): Promise<void>;
}

export const MINUTE_MS = 60_000;

export interface BucketUse {
  readonly key: string;
  readonly capacity: number;
  /** Taken from the bucket on admission; on settlement, the correction (negative gives back). */
  readonly cost: number;
}

export interface LeaseUse {
  readonly key: string;
  readonly limit: number;
}

export interface BudgetUse {
  readonly key: string;
  readonly limitUsd: number;
}

/**
 * Scratch that belongs to one cached plan (plan-cache.ts), where a backend may keep what it found
 * for the plan's buckets and lease sets, by position, so that the next request of the same key
 * and model finds them without a lookup. The backend that filled it checks it is still its own
 * and still current before trusting it.
 */
export class PlanMemo {
  owner: object | undefined = undefined;
  generation = -1;
  buckets: unknown[] = [];
  leases: unknown[] = [];
}

export interface AdmitRequest {
  readonly buckets: readonly BucketUse[];
  readonly leases: readonly LeaseUse[];
  /** The plan's memo, when the plan is cached (the same buckets and lease sets, in the same order, every time). */
  readonly memo?: PlanMemo;
  /** Blocking budgets: refused once the period's spend reaches the limit. */
  readonly budgets: readonly BudgetUse[];
  readonly leaseId: string;
  readonly leaseTtlMs: number;
}

export type RefusalReason = 'budget' | 'concurrency' | 'rate';

export type Admission =
  /** `remaining`: what each bucket holds after this request, in request order. */
  | { readonly kind: 'admitted'; readonly remaining: readonly number[] }
  | {
      readonly kind: 'refused';
      readonly reason: RefusalReason;
      /** Which bucket, lease set or budget refused, by its position in the request. */
      readonly index: number;
      readonly retryAfterMs: number;
      readonly remaining: readonly number[];
      /** For a budget: what the period has spent. */
      readonly spentUsd?: number;
    };

export interface SpendUse {
  readonly key: string;
  readonly usd: number;
  readonly limitUsd: number;
  readonly thresholds: readonly number[];
  /** When the period ends (epoch ms): the total can be forgotten after. */
  readonly expiresAt: number;
}

export interface SettleRequest {
  readonly adjust: readonly BucketUse[];
  /** With a memo: the position in the admitted request's buckets of each bucket adjusted. */
  readonly adjustAt?: readonly number[];
  readonly memo?: PlanMemo;
  /** The lease sets the admission joined (their limits do not matter here). */
  readonly leases: readonly LeaseUse[];
  readonly leaseId: string;
  readonly spend: readonly SpendUse[];
}

export interface CrossedThreshold {
  /** Position of the spend entry in the request. */
  readonly index: number;
  readonly threshold: number;
  readonly spentUsd: number;
}

export interface Settled {
  /** Thresholds this settlement crossed first, in this period, across every replica. */
  readonly crossed: readonly CrossedThreshold[];
}

export interface SpendSeed {
  readonly key: string;
  readonly usd: number;
  readonly limitUsd: number;
  readonly thresholds: readonly number[];
  readonly expiresAt: number;
}

export const NOTHING_CROSSED: Settled = { crossed: [] };

/** Thresholds a total has reached, as the backends judge them. */
export function reached(spentUsd: number, limitUsd: number, threshold: number): boolean {
  // A hair of tolerance so 0.8 of $1.00 is reached at $0.80 despite float sums.
  return spentUsd >= threshold * limitUsd - 1e-9;
}
