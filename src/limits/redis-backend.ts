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
type Reply = Array<number | string>;

interface ScriptedRedis {
  lightportBatch: ScriptCommand;
  lightportSeed: ScriptCommand;
}

interface Pending {
  readonly keys: readonly string[];
  readonly args: readonly Argument[];
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: unknown) => void;
}

const REFUSALS: Record<number, RefusalReason> = { 1: 'budget', 2: 'concurrency', 3: 'rate' };
const MOST_PER_BATCH = 128;
/** Settlements wait at most this long for an admission to ride along with. */
const SETTLE_DELAY_MS = 10;

/**
 * Limits shared by every replica. Admissions wait at most one turn of the event loop, then
 * go to Redis together: one Lua script call, one round trip, each decision atomic. Settlements
 * (after responses, nobody waits for them) join the next batch of admissions, or go on their
 * own after SETTLE_DELAY_MS; they run first in a batch, so a freed slot serves the admissions
 * in it. Under load that is one write for many requests instead of two per request.
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
    const { buckets, leases, budgets } = request;
    const keys: string[] = [];
    const args: Argument[] = ['a', buckets.length, leases.length, budgets.length, request.leaseId, request.leaseTtlMs];
    for (const use of buckets) {
      keys.push(use.key);
      args.push(use.capacity, use.cost);
    }
    for (const lease of leases) {
      keys.push(lease.key);
      args.push(lease.limit);
    }
    for (const budget of budgets) {
      keys.push(budget.key);
      args.push(budget.limitUsd);
    }
    const reply = await this.#enqueue(this.#admissions, keys, args);
    const remaining = reply.slice(4).map(Number);
    const reason = REFUSALS[Number(reply[0])];
    if (reason === undefined) return { kind: 'admitted', remaining };
    return {
      kind: 'refused',
      reason,
      index: Number(reply[1]),
      retryAfterMs: Number(reply[2]),
      remaining,
      ...(reason === 'budget' ? { spentUsd: Number(reply[3]) } : {}),
    };
  }

  async settle(request: SettleRequest): Promise<Settled> {
    const { adjust, leases, spend } = request;
    const keys: string[] = [];
    const args: Argument[] = ['s', adjust.length, leases.length, spend.length, request.leaseId];
    for (const use of adjust) {
      keys.push(use.key);
      args.push(use.capacity, use.cost);
    }
    for (const lease of leases) keys.push(lease.key);
    for (const use of spend) {
      keys.push(use.key);
      args.push(...spendArguments(use));
    }
    const reply = await this.#enqueue(this.#settlements, keys, args);
    if (reply.length === 0) return NOTHING_CROSSED;
    const crossed: CrossedThreshold[] = [];
    for (let at = 0; at < reply.length; at += 3) {
      crossed.push({ index: Number(reply[at]), threshold: Number(reply[at + 1]), spentUsd: Number(reply[at + 2]) });
    }
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

  #enqueue(queue: Pending[], keys: readonly string[], args: readonly Argument[]): Promise<Reply> {
    return new Promise((resolve, reject) => {
      queue.push({ keys, args, resolve, reject });
      if (queue === this.#admissions) this.#immediate ??= setImmediate(() => this.#flush());
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
    const args: Argument[] = [batch.length];
    for (const pending of batch) {
      keys.push(...pending.keys);
      args.push(...pending.args);
    }
    this.#scripts.lightportBatch(keys.length, ...keys, ...args).then(
      (replies) => batch.forEach((pending, index) => pending.resolve(((replies as Reply[])[index] ?? []) as Reply)),
      (error: unknown) => {
        for (const pending of batch) pending.reject(error);
      },
    );
  }
}

function spendArguments(use: SpendUse | SpendSeed): Argument[] {
  return [String(use.usd), use.limitUsd, use.expiresAt, use.thresholds.length, ...use.thresholds.map(String)];
}
