import { randomUUID } from 'node:crypto';
import type { Admission, AdmitRequest, BucketUse, LeaseUse, LimitBackend, SettleRequest, Settled, SpendSeed } from './backend.ts';
import { NOTHING_CROSSED } from './backend.ts';
import { performance } from 'node:perf_hooks';

/** A replica takes this share of a limit at a time (1/64)... */
const SHARE = 64;
/** ...when that is at least this much: smaller limits are decided in Redis request by request, exactly. */
const SMALLEST_GRANT = 16;
/**
 * How long after it was taken a block of concurrency slots admits requests. Its entries in Redis
 * expire `leaseTtlMs` (the request timeout plus 5 s) after they were made, so a request admitted
 * within these 4 s always ends before its slot's entry could expire.
 */
const BLOCK_USABLE_MS = 4000;
/** After a refused or failed top-up, the key is left to Redis request by request for this long. */
const COOLDOWN_MS = 1000;

interface Reserve {
  readonly capacity: number;
  /** Tokens taken from the Redis bucket and not spent yet. */
  tokens: number;
  /** The bucket's level in Redis after the last take (for the remaining-count headers). */
  level: number;
  busyUntil: number;
  topping: boolean;
}

interface Block {
  readonly takenAt: number;
  /** Entries of the lease set this replica holds and no request uses. */
  readonly free: string[];
}

interface Slots {
  current: Block | undefined;
  taking: boolean;
  busyUntil: number;
}

/** A locally admitted request's slots: which entry of which block it took, per lease set. */
type TakenSlots = ReadonlyArray<{ readonly lease: LeaseUse; readonly member: string; readonly block: Block }>;

/**
 * Limits shared through Redis, with most decisions taken without a round trip: the replica
 * takes tokens from each Redis bucket and concurrency slots from each lease set in blocks of
 * 1/64 of the limit (for limits of 1,024 and more), and admits a request locally while what it
 * holds covers it. Nothing is ever
 * admitted that Redis did not grant, so replicas together never exceed a limit; a replica may
 * hold up to 1/64 of a limit that another replica then cannot use until it refills (tokens) or
 * is given back (slots, within seconds). Requests that ask for a budget, and every request while
 * what is held does not cover it, go to Redis as before; so do smaller limits, exactly.
 * A token correction comes out of what is held (leases or not); what that does not cover goes to
 * Redis, so the shared bucket refuses once it is spent. Spend goes to Redis after the response,
 * batched. Any failed Redis call drops what is held, so the failover policy sees the outage on
 * the next request.
 */
export class ReservingBackend implements LimitBackend {
  readonly #remote: LimitBackend;
  readonly #replica = randomUUID().slice(0, 12);
  readonly #reserves = new Map<string, Reserve>();
  readonly #slots = new Map<string, Slots>();
  readonly #taken = new Map<string, TakenSlots>();
  #members = 0;
  #leaseTtlMs = 0;
  /** After a failed Redis call, nothing is taken ahead for COOLDOWN_MS. */
  #pausedUntil = 0;

  constructor(remote: LimitBackend) {
    this.#remote = remote;
  }

  admit(request: AdmitRequest): Admission | Promise<Admission> {
    this.#leaseTtlMs = request.leaseTtlMs;
    const now = performance.now();
    const local = request.budgets.length === 0 ? this.#admitLocally(request, now) : undefined;
    if (local !== undefined) {
      this.#topUp(request, now);
      return local;
    }
    // Ahead of any top-up it prompts: near a limit, the request itself comes first.
    const remote = Promise.resolve(this.#remote.admit(request)).catch((error: unknown) => {
      this.#dropHeld();
      throw error;
    });
    this.#topUp(request, now);
    return remote;
  }

  settle(request: SettleRequest): Settled | Promise<Settled> {
    // A token correction comes out of (or back into) the tokens held, whoever admitted the request:
    // Redis already counts them as spent, so the shared count comes out the same either way, and
    // nothing need be remembered per request (nothing is left behind by one that never settles).
    const adjust = this.#absorb(request.adjust);
    const taken = this.#taken.get(request.leaseId);
    if (taken === undefined) {
      if (adjust.length === 0 && request.leases.length === 0 && request.spend.length === 0) return NOTHING_CROSSED;
      return adjust === request.adjust ? this.#remote.settle(request) : this.#remote.settle({ ...request, adjust });
    }
    this.#taken.delete(request.leaseId);
    const now = performance.now();
    for (const { lease, member, block } of taken) {
      if (now - block.takenAt < BLOCK_USABLE_MS && this.#slots.get(lease.key)?.current === block) block.free.push(member);
      else this.#release(lease, member);
    }
    if (adjust.length === 0 && request.spend.length === 0) return NOTHING_CROSSED;
    return this.#remote.settle({ adjust, leases: [], leaseId: request.leaseId, spend: request.spend });
  }

  /**
   * Takes token corrections out of (or gives them back into) what is held; the part of a correction
   * that what is held does not cover goes on to Redis (returned), so the shared bucket counts it and
   * refuses the next requests once it is spent, and an empty reserve admits nothing locally.
   */
  #absorb(corrections: readonly BucketUse[]): readonly BucketUse[] {
    let rest: BucketUse[] | undefined;
    for (let at = 0; at < corrections.length; at++) {
      const correction = corrections[at] as BucketUse;
      const reserve = this.#reserves.get(correction.key);
      if (reserve === undefined) {
        rest?.push(correction);
        continue;
      }
      const covered = Math.min(correction.cost, Math.max(0, reserve.tokens));
      const owed = correction.cost - covered;
      reserve.tokens -= covered;
      // Redis will be that much lower than at the last take: the remaining-count headers say so.
      reserve.level -= owed;
      rest ??= corrections.slice(0, at);
      if (owed !== 0) rest.push({ ...correction, cost: owed });
    }
    return rest ?? corrections;
  }

  seedSpend(entries: readonly SpendSeed[]): Promise<void> {
    return this.#remote.seedSpend(entries);
  }

  /** Gives back what is held and unused, then closes Redis. */
  async close(): Promise<void> {
    const refunds = [...this.#reserves].filter(([, reserve]) => reserve.tokens > 0);
    const returns = [...this.#slots].flatMap(([key, slots]) => (slots.current?.free ?? []).map((member) => ({ key, member })));
    this.#reserves.clear();
    this.#slots.clear();
    await Promise.allSettled([
      ...refunds.map(([key, reserve]) =>
        this.#remote.settle({
          adjust: [{ key, capacity: reserve.capacity, cost: -reserve.tokens }],
          leases: [],
          leaseId: 'refund',
          spend: [],
        }),
      ),
      ...returns.map(({ key, member }) => this.#remote.settle({ adjust: [], leases: [{ key, limit: 0 }], leaseId: member, spend: [] })),
    ]);
    await this.#remote.close();
  }

  /** Admitted from what this replica holds, or undefined when that does not cover the request. */
  #admitLocally(request: AdmitRequest, now: number): Admission | undefined {
    for (const bucket of request.buckets) {
      const reserve = this.#reserves.get(bucket.key);
      if (reserve === undefined || reserve.tokens < bucket.cost) return undefined;
    }
    for (const lease of request.leases) {
      const block = this.#slots.get(lease.key)?.current;
      if (block === undefined || block.free.length === 0 || now - block.takenAt >= BLOCK_USABLE_MS) return undefined;
    }
    const remaining: number[] = [];
    for (const bucket of request.buckets) {
      const reserve = this.#reserves.get(bucket.key) as Reserve;
      reserve.tokens -= bucket.cost;
      remaining.push(Math.max(0, Math.floor(reserve.level + reserve.tokens)));
    }
    if (request.leases.length > 0) {
      this.#taken.set(
        request.leaseId,
        request.leases.map((lease) => {
          const block = (this.#slots.get(lease.key) as Slots).current as Block;
          return { lease, member: block.free.pop() as string, block };
        }),
      );
    }
    return { kind: 'admitted', remaining };
  }

  /** Takes more tokens or a fresh block of slots, in the background, where what is held runs low. */
  #topUp(request: AdmitRequest, now: number): void {
    if (now < this.#pausedUntil) return;
    for (const bucket of request.buckets) {
      const grant = Math.floor(bucket.capacity / SHARE);
      if (grant < SMALLEST_GRANT) continue;
      let reserve = this.#reserves.get(bucket.key);
      if (reserve === undefined) {
        reserve = { capacity: bucket.capacity, tokens: 0, level: 0, busyUntil: 0, topping: false };
        this.#reserves.set(bucket.key, reserve);
      }
      if (reserve.topping || reserve.tokens >= grant / 2 || now < reserve.busyUntil) continue;
      reserve.topping = true;
      const taking = reserve;
      void Promise.resolve(
        this.#remote.admit({
          buckets: [{ key: bucket.key, capacity: bucket.capacity, cost: grant }],
          leases: [],
          budgets: [],
          leaseId: 'reserve',
          leaseTtlMs: request.leaseTtlMs,
        }),
      ).then(
        (admission) => {
          taking.topping = false;
          if (admission.kind === 'admitted' && this.#reserves.get(bucket.key) === taking) {
            taking.tokens += grant;
            taking.level = admission.remaining[0] ?? 0;
          } else taking.busyUntil = performance.now() + COOLDOWN_MS;
        },
        () => {
          taking.topping = false;
          this.#dropHeld();
        },
      );
    }
    for (const lease of request.leases) {
      const size = Math.floor(lease.limit / SHARE);
      if (size < SMALLEST_GRANT) continue;
      let slots = this.#slots.get(lease.key);
      if (slots === undefined) this.#slots.set(lease.key, (slots = { current: undefined, taking: false, busyUntil: 0 }));
      const current = slots.current;
      const fresh = current !== undefined && now - current.takenAt < BLOCK_USABLE_MS / 2 && current.free.length >= size / 2;
      if (slots.taking || fresh || now < slots.busyUntil) continue;
      this.#takeBlock(lease, slots, size);
    }
  }

  /** Takes `size` slots of a lease set, one entry each, in one batch; the block replaces the current one. */
  #takeBlock(lease: LeaseUse, slots: Slots, size: number): void {
    slots.taking = true;
    const members = Array.from({ length: size }, () => `${this.#replica}:${(this.#members++).toString(36)}`);
    const takenAt = performance.now();
    void Promise.all(
      members.map((member) =>
        Promise.resolve(
          this.#remote.admit({ buckets: [], leases: [lease], budgets: [], leaseId: member, leaseTtlMs: this.#leaseTtlMs }),
        ).then((admission) => (admission.kind === 'admitted' ? member : undefined)),
      ),
    ).then(
      (granted) => {
        slots.taking = false;
        const free = granted.filter((member): member is string => member !== undefined);
        if (this.#slots.get(lease.key) !== slots) {
          for (const member of free) this.#release(lease, member);
          return;
        }
        if (free.length < size) slots.busyUntil = performance.now() + COOLDOWN_MS;
        const retired = slots.current;
        slots.current = free.length > 0 ? { takenAt, free } : undefined;
        for (const member of retired?.free.splice(0) ?? []) this.#release(lease, member);
      },
      () => {
        slots.taking = false;
        this.#dropHeld();
      },
    );
  }

  #release(lease: LeaseUse, member: string): void {
    void Promise.resolve(this.#remote.settle({ adjust: [], leases: [lease], leaseId: member, spend: [] })).catch(() => this.#dropHeld());
  }

  /** Redis failed: nothing held is trusted any more (slot entries expire on their own; unspent tokens refill). */
  #dropHeld(): void {
    this.#pausedUntil = performance.now() + COOLDOWN_MS;
    this.#reserves.clear();
    this.#slots.clear();
  }
}
