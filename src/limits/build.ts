import type { Config } from '../config/schema.ts';
import type { StoreConfig } from '../config/limits-schema.ts';
import type { Logger } from '../observability/logger.ts';
import { openPostgres } from '../state/postgres.ts';
import { connectRedis, createRedis } from '../state/redis.ts';
import { openSqlite } from '../state/sqlite.ts';
import { KeysAdminApi } from './admin-api.ts';
import type { LimitBackend } from './backend.ts';
import { BudgetKeys, compileBudgets, type BudgetSpec } from './budgets.ts';
import { tokenPriceCost, type CostOf } from './cost.ts';
import { FailoverBackend } from './failover-backend.ts';
import { KeyDirectory, type CompileKey } from './key-directory.ts';
import { callerKey, mcpAllowlist } from './keys.ts';
import { MemoryBackend } from './memory-backend.ts';
import { PeriodClock } from './periods.ts';
import { compileLimitSpec, SharedLimits } from './plan.ts';
import { RedisBackend } from './redis-backend.ts';
import { ReservingBackend } from './reserving-backend.ts';
import { SpendLedger } from './spend-ledger.ts';
import { SqlLimitsStore } from './sql-store.ts';
import { LimitsStage } from './stage.ts';
import type { LimitsStore } from './store.ts';
import { loadTokenCounter, type CountTokens } from './tokens.ts';
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
  /** USD for a response when the observe stage has not priced it (context.costUsd); default: token prices. */
  readonly costOf?: CostOf;
  /** admin.key of the running config; default: the one given at start. */
  readonly adminKey?: () => string | undefined;
}

/** Builds the auth & limits stage from config, or nothing when keys and limits are all off (then it costs nothing). */
export function createLimits(config: Config, logger: Logger, options: LimitsOptions = {}): Limits | undefined {
  const { auth, limits, budgets, state } = config;
  const prefix = `{${state.redis.prefix}}:`;
  const shared = new SharedLimits(prefix, limits, (team) => auth.teams[team]?.limits);
  if (!auth.enabled && !shared.any) return undefined;

  const budgetKeys = new BudgetKeys(prefix, new PeriodClock());
  const teamBudgets = teamBudgetsOf(config);
  const adminKey = options.adminKey ?? (() => config.admin.key);
  const store = auth.enabled && (adminKey() !== undefined || hasBudgets(config)) ? openStore(state.store) : undefined;
  const ledger = store === undefined ? undefined : new SpendLedger(store, logger);
  const alerts = new AlertSender(budgets.webhook, logger);
  const tokenizer = new Tokenizer((count) => stage.useTokenCounter(count), logger);
  const compile: CompileKey = (entry, stored) => {
    const spec = compileLimitSpec(prefix, 'key', entry.name, entry.policy.limits ?? shared.keyDefault());
    if (spec?.tokens !== undefined) void tokenizer.load();
    const budgetSpecs = compileBudgets(budgets, 'key', entry.name, entry.policy.budgets);
    const caller = callerKey(entry.name, entry.policy);
    return {
      ...entry,
      caller,
      mcpAllow: mcpAllowlist(entry.policy.mcp),
      limits: spec,
      budgets: budgetSpecs,
      ...(stored ? { stored } : {}),
    };
  };
  const directory = auth.enabled
    ? new KeyDirectory({ configKeys: auth.keys, ...(store ? { store } : {}), compile, refreshMs: auth.refresh_ms, logger })
    : undefined;

  const seedSpend = (): Promise<void> =>
    store === undefined ? Promise.resolve() : seedFromStore({ store, budgetKeys, directory, teamBudgets, backend: backends.backend });
  const backends = buildBackends(config, logger, () => void seedSpend().catch(() => undefined));

  const stage = new LimitsStage({
    directory,
    shared,
    teamBudgets,
    budgetKeys,
    leaseTtlMs: config.server.request_timeout_ms + 5000,
    headersOnEveryAnswer: limits.headers === 'all',
    backend: backends.backend,
    costOf: options.costOf ?? tokenPriceCost(budgets.prices),
    ledger,
    alerts,
    logger,
  });

  const admin =
    directory !== undefined && store !== undefined
      ? new KeysAdminApi({
          adminKey,
          directory,
          spend: store,
          flushSpend: () => ledger?.flush() ?? Promise.resolve(),
          currentPeriods: () => budgetKeys.currentPeriodIds(),
          status: () => limitsStatus(config, backends.failover, alerts, ledger),
        })
      : undefined;

  return {
    stage,
    admin,
    start: async () => {
      await store?.init();
      await directory?.start();
      if (shared.usesTokens) void tokenizer.load();
      await backends.connect();
      await seedSpend();
      await tokenizer.loaded();
    },
    close: async () => {
      directory?.stop();
      await ledger?.close();
      await alerts.close(2000);
      await backends.backend.close();
      await store?.close();
    },
  };
}

/** Spend totals of the current periods, from the store into the backend (after a restart, or Redis coming back). */
async function seedFromStore(parts: {
  store: LimitsStore;
  budgetKeys: BudgetKeys;
  directory: KeyDirectory | undefined;
  teamBudgets: (team: string) => readonly BudgetSpec[];
  backend: LimitBackend;
}): Promise<void> {
  const { budgetKeys, directory } = parts;
  const rows = await parts.store.readSpend(budgetKeys.currentPeriodIds());
  const seeds = rows.flatMap((row) => {
    const specs = row.scope === 'key' ? (directory?.get(row.name)?.budgets ?? []) : parts.teamBudgets(row.name);
    const spec = specs.find((candidate) => budgetKeys.period(candidate).id === row.period);
    return spec === undefined ? [] : [budgetKeys.seed(spec, row.usd)];
  });
  await parts.backend.seedSpend(seeds);
}

/** What GET /admin/limits shows: the backend, its failures and the alert and spend queues. */
function limitsStatus(config: Config, failover: FailoverBackend | undefined, alerts: AlertSender, ledger: SpendLedger | undefined) {
  return {
    backend: config.limits.backend,
    fail_mode: config.limits.on_backend_error,
    degraded: failover?.degraded ?? false,
    backend_errors: failover?.counters.errors ?? 0,
    degraded_decisions: failover?.counters.degradedDecisions ?? 0,
    alerts: { delivered: alerts.delivered, failed: alerts.failed, dropped: alerts.dropped },
    spend_records_dropped: ledger?.dropped ?? 0,
  };
}

interface Backends {
  readonly backend: LimitBackend;
  readonly failover: FailoverBackend | undefined;
  connect(): Promise<void>;
}

/** Memory alone, or Redis with memory as the fail-open fallback. */
function buildBackends(config: Config, logger: Logger, onRecovered: () => void): Backends {
  const local = new MemoryBackend();
  const { limits, state } = config;
  if (limits.backend === 'memory') return { backend: local, failover: undefined, connect: async () => {} };
  const redis = createRedis({
    url: state.redis.url,
    timeoutMs: state.redis.timeout_ms,
    onError: (error) => logger.debug({ err_message: error.message }, 'redis connection error'),
  });
  const failover = new FailoverBackend({
    primary: new ReservingBackend(new RedisBackend(redis)),
    local,
    mode: limits.on_backend_error,
    logger,
    onRecovered,
  });
  return {
    backend: failover,
    failover,
    connect: async () => {
      const error = await connectRedis(redis);
      if (error) logger.warn({ err_message: error.message, fail_mode: limits.on_backend_error }, 'Redis is not reachable at start-up');
    },
  };
}

function teamBudgetsOf(config: Config): (team: string) => readonly BudgetSpec[] {
  const cache = new Map<string, readonly BudgetSpec[]>();
  return (team) => {
    let specs = cache.get(team);
    if (specs === undefined)
      cache.set(team, (specs = compileBudgets(config.budgets, 'team', team, config.auth.teams[team]?.budgets ?? [])));
    return specs;
  };
}

function hasBudgets(config: Config): boolean {
  const { keys, teams } = config.auth;
  return keys.some((key) => key.budgets.length > 0) || Object.values(teams).some((team) => team.budgets.length > 0);
}

/** The tokenizer loads once, when a token limit first needs it; until then estimates are rough. */
class Tokenizer {
  readonly #use: (count: CountTokens) => void;
  readonly #logger: Logger;
  #loading: Promise<void> | undefined;

  constructor(use: (count: CountTokens) => void, logger: Logger) {
    this.#use = use;
    this.#logger = logger;
  }

  load(): Promise<void> {
    this.#loading ??= loadTokenCounter().then(this.#use, (error: unknown) =>
      this.#logger.error({ err_message: (error as Error).message }, 'could not load the tokenizer; estimating 4 characters a token'),
    );
    return this.#loading;
  }

  async loaded(): Promise<void> {
    await this.#loading;
  }
}

function openStore(config: StoreConfig): LimitsStore {
  switch (config.type) {
    case 'sqlite':
      return new SqlLimitsStore(openSqlite(config.path));
    case 'postgres':
      return new SqlLimitsStore(openPostgres({ url: config.url, schema: config.schema }));
  }
}
