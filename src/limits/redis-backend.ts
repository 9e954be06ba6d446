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
import { ADMIT_SCRIPT, SEED_SCRIPT, SETTLE_SCRIPT } from './redis-scripts.ts';

type Argument = string | number;
type ScriptCommand = (keyCount: number, ...args: Argument[]) => Promise<unknown>;

interface ScriptedRedis {
  lightportAdmit: ScriptCommand;
  lightportSettle: ScriptCommand;
  lightportSeed: ScriptCommand;
}

const REFUSALS: Record<number, RefusalReason> = { 1: 'budget', 2: 'concurrency', 3: 'rate' };

/** Limits shared by every replica: each decision is one Lua script, one round trip. */
export class RedisBackend implements LimitBackend {
  readonly #redis: Redis;
  readonly #scripts: ScriptedRedis;

  constructor(redis: Redis) {
    this.#redis = redis;
    redis.defineCommand('lightportAdmit', { lua: ADMIT_SCRIPT });
    redis.defineCommand('lightportSettle', { lua: SETTLE_SCRIPT });
    redis.defineCommand('lightportSeed', { lua: SEED_SCRIPT });
    this.#scripts = redis as unknown as ScriptedRedis;
  }

  async admit(request: AdmitRequest): Promise<Admission> {
    const { buckets, leases, budgets } = request;
    const keys: string[] = [];
    const args: Argument[] = [buckets.length, leases.length, budgets.length, request.leaseId, request.leaseTtlMs];
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
    const reply = (await this.#scripts.lightportAdmit(keys.length, ...keys, ...args)) as Array<number | string>;
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
    const args: Argument[] = [adjust.length, leases.length, spend.length, request.leaseId];
    for (const use of adjust) {
      keys.push(use.key);
      args.push(use.capacity, use.cost);
    }
    keys.push(...leases);
    for (const use of spend) {
      keys.push(use.key);
      args.push(...spendArguments(use));
    }
    const reply = (await this.#scripts.lightportSettle(keys.length, ...keys, ...args)) as Array<number | string>;
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

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}

function spendArguments(use: SpendUse | SpendSeed): Argument[] {
  return [String(use.usd), use.limitUsd, use.expiresAt, use.thresholds.length, ...use.thresholds.map(String)];
}
