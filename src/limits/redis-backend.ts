import type { Redis } from 'ioredis';
import type {
  Admission,
  AdmitRequest,
  CrossedThreshold,
  LimitBackend,
  RefusalReason,
  SettleRequest,
  Settled,
  SpendSeed,
  SpendUse,
} from './backend.ts';
import { NOTHING_CROSSED } from './backend.ts';
import { BATCH_SCRIPT, SEED_SCRIPT } from './redis-scripts.ts';

type Argument = string | number;
type ScriptCommand = (keyCount: number, ...args: Argument[]) => Promise<unknown>;

interface ScriptedRedis {
  lightportBatch: ScriptCommand;
  lightportSeed: ScriptCommand;
}

/** One decision as the batch script reads it; keys are filled in as KEYS indexes when the batch is sent. */
type Operation =
  | {
      readonly a: 1;
      readonly id: string;
      readonly ttl: number;
      readonly b: ReadonlyArray<readonly [string, number, number]>;
      readonly l: ReadonlyArray<readonly [string, number]>;
      readonly s: ReadonlyArray<readonly [string, number]>;
    }
  | {
      readonly id: string;
      readonly d: ReadonlyArray<readonly [string, number, number]>;
      readonly l: readonly string[];
      readonly s: ReadonlyArray<readonly [string, number, number, number, readonly number[]]>;
    };

type Answer = unknown[];

interface Pending {
  readonly operation: Operation;
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: unknown) => void;
}

const REFUSALS: Record<number, RefusalReason> = { 1: 'budget', 2: 'concurrency', 3: 'rate' };
const MOST_PER_BATCH = 128;
/** Settlements wait at most this long for an admission to ride along with. */
const SETTLE_DELAY_MS = 10;

/**
 * Limits shared by every replica. Admissions wait at most one turn of the event loop, then
 * go to Redis together: one Lua script call, one round trip, each decision atomic. So do
 * settlements that free concurrency slots (see #enqueue); other settlements (token corrections,
 * spend: nobody waits for them) join the next batch, or go on their own after SETTLE_DELAY_MS.
 * Settlements run first in a batch. Under load that is one write for many requests.
 */
export class RedisBackend implements LimitBackend {
  readonly #redis: Redis;
  readonly #scripts: ScriptedRedis;
  #admissions: Pending[] = [];
  #settlements: Pending[] = [];
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(redis: Redis) {
    this.#redis = redis;
    redis.defineCommand('lightportBatch', { lua: BATCH_SCRIPT });
    redis.defineCommand('lightportSeed', { lua: SEED_SCRIPT });
    this.#scripts = redis as unknown as ScriptedRedis;
  }

  async admit(request: AdmitRequest): Promise<Admission> {
    const operation: Operation = {
      a: 1,
      id: request.leaseId,
      ttl: request.leaseTtlMs,
      b: request.buckets.map((use) => [use.key, use.capacity, use.cost] as const),
      l: request.leases.map((lease) => [lease.key, lease.limit] as const),
      s: request.budgets.map((budget) => [budget.key, budget.limitUsd] as const),
    };
    const answer = await this.#enqueue(this.#admissions, operation, 'turn');
    const remaining = answer.slice(4).map(Number);
    const reason = REFUSALS[Number(answer[0])];
    if (reason === undefined) return { kind: 'admitted', remaining };
    return {
      kind: 'refused',
      reason,
      index: Number(answer[1]),
      retryAfterMs: Number(answer[2]),
      remaining,
      ...(reason === 'budget' ? { spentUsd: Number(answer[3]) } : {}),
    };
  }

  async settle(request: SettleRequest): Promise<Settled> {
    const operation: Operation = {
      id: request.leaseId,
      d: request.adjust.map((use) => [use.key, use.capacity, use.cost] as const),
      l: request.leases.map((lease) => lease.key),
      s: request.spend.map((use) => [use.key, use.usd, use.limitUsd, use.expiresAt, use.thresholds] as const),
    };
    const answer = await this.#enqueue(this.#settlements, operation, request.leases.length > 0 ? 'turn' : 'later');
    if (answer.length === 0) return NOTHING_CROSSED;
    const crossed: CrossedThreshold[] = (answer as Array<[number, number, number]>).map(([index, threshold, spentUsd]) => ({
      index,
      threshold,
      spentUsd,
    }));
    return { crossed };
  }

  async seedSpend(entries: readonly SpendSeed[]): Promise<void> {
    if (entries.length === 0) return;
    const args = entries.flatMap((entry) => spendArguments(entry));
    await this.#scripts.lightportSeed(entries.length, ...entries.map((entry) => entry.key), ...args);
  }

  /** Sends what is still queued, then quits once Redis has answered it. */
  async close(): Promise<void> {
    if (this.#settlements.length > 0 || this.#admissions.length > 0) this.#flush();
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /**
   * `turn`: with whatever else this turn of the event loop decides; a released concurrency slot
   * goes so too, so it reaches Redis within a turn of the response's end, and always ahead of
   * this replica's next decision (settlements go first). `later`: within SETTLE_DELAY_MS.
   */
  #enqueue(queue: Pending[], operation: Operation, when: 'turn' | 'later'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      queue.push({ operation, resolve, reject });
      if (when === 'turn') this.#immediate ??= setImmediate(() => this.#flush());
      else this.#timer ??= setTimeout(() => this.#flush(), SETTLE_DELAY_MS);
    });
  }

  #flush(): void {
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#immediate = undefined;
    this.#timer = undefined;
    const queue = [...this.#settlements, ...this.#admissions];
    this.#settlements = [];
    this.#admissions = [];
    for (let start = 0; start < queue.length; start += MOST_PER_BATCH) this.#send(queue.slice(start, start + MOST_PER_BATCH));
  }

  #send(batch: readonly Pending[]): void {
    const keys: string[] = [];
    const indexes = new Map<string, number>();
    const index = (key: string): number => {
      let at = indexes.get(key);
      if (at === undefined) indexes.set(key, (at = keys.push(key)));
      return at;
    };
    const operations = batch.map(({ operation }) => withKeyIndexes(operation, index));
    this.#scripts.lightportBatch(keys.length, ...keys, JSON.stringify(operations)).then(
      (reply) => {
        const answers = JSON.parse(String(reply)) as unknown;
        batch.forEach((pending, at) => {
          const answer = Array.isArray(answers) ? (answers[at] as unknown) : undefined;
          // cjson writes an empty list as {}.
          pending.resolve(Array.isArray(answer) ? answer : []);
        });
      },
      (error: unknown) => {
        for (const pending of batch) pending.reject(error);
      },
    );
  }
}

/** The operation with each key replaced by its 1-based position in KEYS. */
function withKeyIndexes(operation: Operation, index: (key: string) => number): unknown {
  if ('a' in operation) {
    return {
      ...operation,
      b: operation.b.map(([key, capacity, cost]) => [index(key), capacity, cost]),
      l: operation.l.map(([key, limit]) => [index(key), limit]),
      s: operation.s.map(([key, limit]) => [index(key), limit]),
    };
  }
  return {
    ...operation,
    d: operation.d.map(([key, capacity, delta]) => [index(key), capacity, delta]),
    l: operation.l.map((key) => index(key)),
    s: operation.s.map(([key, ...rest]) => [index(key), ...rest]),
  };
}

function spendArguments(use: SpendUse | SpendSeed): Argument[] {
  return [String(use.usd), use.limitUsd, use.expiresAt, use.thresholds.length, ...use.thresholds.map(String)];
}
