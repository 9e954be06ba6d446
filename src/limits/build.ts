import type { Config } from '../config/schema.ts';
import type { StoreConfig } from '../config/limits-schema.ts';
import type { Logger } from '../observability/logger.ts';
import { AdminAuth } from '../server/admin-auth.ts';
import { connectRedis, createRedis } from '../state/redis.ts';
import { KeysAdminApi } from './admin-api.ts';
import type { LimitBackend } from './backend.ts';
import { BudgetKeys, compileBudgets, type BudgetSpec } from './budgets.ts';
import { tokenPriceCost, type CostOf } from './cost.ts';
import { FailoverBackend } from './failover-backend.ts';
import { KeyDirectory, type CompileKey } from './key-directory.ts';
import { callerKey } from './keys.ts';
import { MemoryBackend } from './memory-backend.ts';
import { PeriodClock } from './periods.ts';
import { compileLimitSpec, SharedLimits } from './plan.ts';
import { PostgresStore } from './postgres-store.ts';
import { RedisBackend } from './redis-backend.ts';
import { SpendLedger } from './spend-ledger.ts';
import { SqliteStore } from './sqlite-store.ts';
import { LimitsStage } from './stage.ts';
import type { LimitsStore } from './store.ts';
import { loadTokenCounter } from './tokens.ts';
import { AlertSender } from './webhook.ts';

export interface Limits {
  readonly stage: LimitsStage;
  /** The keys admin API, when `admin.key` is set and `auth` is on. */
  readonly admin: KeysAdminApi | undefined;
  /** Loads stored keys and spend, connects Redis and the tokenizer; before the gateway listens. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface LimitsOptions {
  /** USD for a response; the observability stage's pricing catalog when it is there. */
  readonly costOf?: CostOf;
}

/** Builds the auth & limits stage from config, or nothing when keys and limits are all off (then it costs nothing). */
export function createLimits(config: Config, logger: Logger, options: LimitsOptions = {}): Limits | undefined {
  const { auth, limits, budgets, state } = config;
  const prefix = `{${state.redis.prefix}}:`;
  const shared = new SharedLimits(prefix, limits, (team) => auth.teams[team]?.limits);
  if (!auth.enabled && !shared.any) return undefined;

  const budgetKeys = new BudgetKeys(prefix, new PeriodClock());
  const teamBudgetCache = new Map<string, readonly BudgetSpec[]>();
  const teamBudgets = (team: string): readonly BudgetSpec[] => {
    let specs = teamBudgetCache.get(team);
    if (specs === undefined) teamBudgetCache.set(team, (specs = compileBudgets(budgets, 'team', team, auth.teams[team]?.budgets ?? [])));
    return specs;
  };
  const hasBudgets = auth.keys.some((key) => key.budgets.length > 0) || Object.values(auth.teams).some((team) => team.budgets.length > 0);
  const adminAuth = new AdminAuth(config.admin?.key);
  const store = auth.enabled && (adminAuth.enabled || hasBudgets) ? openStore(state.store, logger) : undefined;
  const ledger = store === undefined ? undefined : new SpendLedger(store, logger);
  const alerts = new AlertSender(budgets.webhook, logger);

  let tokenizer: Promise<void> | undefined;
  const needTokenizer = (): Promise<void> =>
    (tokenizer ??= loadTokenCounter().then(
      (count) => stage.useTokenCounter(count),
      (error: unknown) =>
        logger.error({ err_message: (error as Error).message }, 'could not load the tokenizer; estimating 4 characters a token'),
    ));
  const compile: CompileKey = (entry, stored) => {
    const spec = compileLimitSpec(prefix, 'key', entry.name, entry.policy.limits ?? shared.keyDefault());
    if (spec?.tokens !== undefined) void needTokenizer();
    const budgetSpecs = compileBudgets(budgets, 'key', entry.name, entry.policy.budgets);
    return { ...entry, caller: callerKey(entry.name, entry.policy), limits: spec, budgets: budgetSpecs, ...(stored ? { stored } : {}) };
  };
  const directory = auth.enabled
    ? new KeyDirectory({ configKeys: auth.keys, ...(store ? { store } : {}), compile, refreshMs: auth.refresh_ms, logger })
    : undefined;

  const seedSpend = async (): Promise<void> => {
    if (store === undefined) return;
    const rows = await store.readSpend(budgetKeys.currentPeriodIds());
    const seeds = rows.flatMap((row) => {
      const specs = row.scope === 'key' ? (directory?.get(row.name)?.budgets ?? []) : teamBudgets(row.name);
      const spec = specs.find((candidate) => budgetKeys.period(candidate).id === row.period);
      return spec === undefined ? [] : [budgetKeys.seed(spec, row.usd)];
    });
    await backend.seedSpend(seeds);
  };

  const local = new MemoryBackend();
  const redis =
    limits.backend === 'redis'
      ? createRedis({
          url: state.redis.url,
          timeoutMs: state.redis.timeout_ms,
          onError: (error) => logger.debug({ err_message: error.message }, 'redis connection error'),
        })
      : undefined;
  const failover =
    redis === undefined
      ? undefined
      : new FailoverBackend({
          primary: new RedisBackend(redis),
          local,
          mode: limits.on_backend_error,
          logger,
          onRecovered: () => void seedSpend().catch(() => undefined),
        });
  const backend: LimitBackend = failover ?? local;

  const stage = new LimitsStage({
    directory,
    shared,
    teamBudgets,
    budgetKeys,
    leaseTtlMs: config.server.request_timeout_ms + 5000,
    backend,
    costOf: options.costOf ?? tokenPriceCost(budgets.prices),
    ledger,
    alerts,
    logger,
  });

  const status = (): Record<string, unknown> => ({
    backend: limits.backend,
    fail_mode: limits.on_backend_error,
    degraded: failover?.degraded ?? false,
    backend_errors: failover?.counters.errors ?? 0,
    degraded_decisions: failover?.counters.degradedDecisions ?? 0,
    alerts: { delivered: alerts.delivered, failed: alerts.failed, dropped: alerts.dropped },
    spend_records_dropped: ledger?.dropped ?? 0,
  });
  const admin =
    directory !== undefined && adminAuth.enabled
      ? new KeysAdminApi({
          auth: adminAuth,
          directory,
          spend: store,
          flushSpend: () => ledger?.flush() ?? Promise.resolve(),
          currentPeriods: () => budgetKeys.currentPeriodIds(),
          status,
        })
      : undefined;

  return {
    stage,
    admin,
    start: async () => {
      await store?.init();
      await directory?.start();
      if (shared.usesTokens) await needTokenizer();
      if (redis !== undefined) {
        const error = await connectRedis(redis);
        if (error) logger.warn({ err_message: error.message, fail_mode: limits.on_backend_error }, 'Redis is not reachable at start-up');
      }
      await seedSpend();
      await tokenizer;
    },
    close: async () => {
      directory?.stop();
      await ledger?.close();
      await alerts.close(2000);
      await backend.close();
      await store?.close();
    },
  };
}

function openStore(config: StoreConfig, logger: Logger): LimitsStore {
  switch (config.type) {
    case 'sqlite':
      return new SqliteStore(config.path);
    case 'postgres':
      return new PostgresStore(config.url, config.schema, (error) => logger.warn({ err_message: error.message }, 'postgres pool error'));
  }
}
