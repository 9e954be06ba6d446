import { migrate, type Migration } from '../state/migrations.ts';
import type { EncodedRows } from '../state/encoded-rows.ts';
import type { SqlDatabase, SqlDialect, SqlValue } from '../state/sql.ts';

/** One request as the request-log store keeps it. */
export interface RequestRecord {
  readonly id: string;
  /** When the request arrived, ms since the epoch. */
  readonly ts: number;
  readonly key_name: string | null;
  readonly user_id: string | null;
  readonly operation: string | null;
  readonly model: string | null;
  readonly provider: string | null;
  readonly provider_type: string | null;
  readonly upstream_model: string | null;
  readonly status: number;
  readonly streaming: number;
  readonly attempts: number;
  readonly duration_ms: number;
  readonly ttft_ms: number | null;
  readonly overhead_ms: number;
  readonly prompt_tokens: number | null;
  readonly completion_tokens: number | null;
  readonly cached_tokens: number | null;
  readonly reasoning_tokens: number | null;
  readonly cost_usd: number | null;
  readonly error_code: string | null;
  readonly request_body: string | null;
  readonly response_body: string | null;
}

export const RECORD_COLUMNS = [
  'id',
  'ts',
  'key_name',
  'user_id',
  'operation',
  'model',
  'provider',
  'provider_type',
  'upstream_model',
  'status',
  'streaming',
  'attempts',
  'duration_ms',
  'ttft_ms',
  'overhead_ms',
  'prompt_tokens',
  'completion_tokens',
  'cached_tokens',
  'reasoning_tokens',
  'cost_usd',
  'error_code',
  'request_body',
  'response_body',
] as const satisfies readonly (keyof RequestRecord)[];

/** A record's values in RECORD_COLUMNS order: the row `RequestLogStore.insert` takes. */
export function recordRow(record: RequestRecord): SqlValue[] {
  return [
    record.id,
    record.ts,
    record.key_name,
    record.user_id,
    record.operation,
    record.model,
    record.provider,
    record.provider_type,
    record.upstream_model,
    record.status,
    record.streaming,
    record.attempts,
    record.duration_ms,
    record.ttft_ms,
    record.overhead_ms,
    record.prompt_tokens,
    record.completion_tokens,
    record.cached_tokens,
    record.reasoning_tokens,
    record.cost_usd,
    record.error_code,
    record.request_body,
    record.response_body,
  ];
}

export const USAGE_GROUPS = ['model', 'provider', 'key', 'user', 'day'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageQuery {
  readonly from: number;
  readonly to: number;
  readonly groupBy: UsageGroup;
}

export interface UsageRow {
  readonly group: string | null;
  readonly requests: number;
  readonly errors: number;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cached_tokens: number;
  readonly reasoning_tokens: number;
  readonly cost_usd: number;
  readonly p50_ms: number | null;
  readonly p95_ms: number | null;
}

/** Where request records go after the response; the same five calls on SQLite and PostgreSQL. */
export interface RequestLogStore {
  migrate(): Promise<void>;
  /** Rows in RECORD_COLUMNS order (see `recordRow`). */
  insert(rows: EncodedRows): Promise<void>;
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /** Deletes records older than the cut-off; returns how many. */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
}

const TABLE = 'lightport_request_log';

const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'request log table',
    sql: {
      sqlite: `CREATE TABLE IF NOT EXISTS ${TABLE} (id TEXT NOT NULL, ts INTEGER NOT NULL, key_name TEXT, user_id TEXT, operation TEXT,
        model TEXT, provider TEXT, provider_type TEXT, upstream_model TEXT, status INTEGER NOT NULL, streaming INTEGER NOT NULL,
        attempts INTEGER NOT NULL, duration_ms REAL NOT NULL, ttft_ms REAL, overhead_ms REAL NOT NULL, prompt_tokens INTEGER,
        completion_tokens INTEGER, cached_tokens INTEGER, reasoning_tokens INTEGER, cost_usd REAL, error_code TEXT,
        request_body TEXT, response_body TEXT);
        CREATE INDEX IF NOT EXISTS ${TABLE}_ts ON ${TABLE} (ts);`,
      postgres: `CREATE TABLE IF NOT EXISTS ${TABLE} (id TEXT NOT NULL, ts BIGINT NOT NULL, key_name TEXT, user_id TEXT, operation TEXT,
        model TEXT, provider TEXT, provider_type TEXT, upstream_model TEXT, status INTEGER NOT NULL, streaming SMALLINT NOT NULL,
        attempts INTEGER NOT NULL, duration_ms DOUBLE PRECISION NOT NULL, ttft_ms DOUBLE PRECISION, overhead_ms DOUBLE PRECISION NOT NULL,
        prompt_tokens BIGINT, completion_tokens BIGINT, cached_tokens BIGINT, reasoning_tokens BIGINT, cost_usd DOUBLE PRECISION,
        error_code TEXT, request_body TEXT, response_body TEXT);
        CREATE INDEX IF NOT EXISTS ${TABLE}_ts ON ${TABLE} (ts);`,
    },
  },
];

const GROUP_COLUMNS: Readonly<Record<Exclude<UsageGroup, 'day'>, string>> = {
  model: 'model',
  provider: 'provider',
  key: 'key_name',
  user: 'user_id',
};

const DAY_EXPRESSIONS: Readonly<Record<SqlDialect, string>> = {
  sqlite: "strftime('%Y-%m-%d', ts / 1000, 'unixepoch')",
  postgres: "to_char(to_timestamp(ts / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
};

/** Totals per group, with nearest-rank latency percentiles from window functions (no extension needed). */
function usageSql(dialect: SqlDialect, groupBy: UsageGroup): string {
  const group = groupBy === 'day' ? DAY_EXPRESSIONS[dialect] : GROUP_COLUMNS[groupBy];
  return `WITH w AS (
      SELECT ${group} AS grp, duration_ms, status, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd
      FROM ${TABLE} WHERE ts >= ? AND ts < ?),
    ranked AS (
      SELECT grp, duration_ms, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY duration_ms) AS rn, COUNT(*) OVER (PARTITION BY grp) AS n
      FROM w),
    pct AS (
      SELECT grp, MIN(CASE WHEN rn >= 0.5 * n THEN duration_ms END) AS p50_ms, MIN(CASE WHEN rn >= 0.95 * n THEN duration_ms END) AS p95_ms
      FROM ranked GROUP BY grp),
    agg AS (
      SELECT grp, COUNT(*) AS requests, SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors,
        SUM(COALESCE(prompt_tokens, 0)) AS input_tokens, SUM(COALESCE(completion_tokens, 0)) AS output_tokens,
        SUM(COALESCE(cached_tokens, 0)) AS cached_tokens, SUM(COALESCE(reasoning_tokens, 0)) AS reasoning_tokens,
        SUM(COALESCE(cost_usd, 0)) AS cost_usd
      FROM w GROUP BY grp)
    SELECT agg.grp AS grp, requests, errors, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_usd, p50_ms, p95_ms
    FROM agg JOIN pct ON agg.grp IS NOT DISTINCT FROM pct.grp
    ORDER BY cost_usd DESC, requests DESC`;
}

type RawUsageRow = Record<Exclude<keyof UsageRow, 'group'> | 'grp', string | number | bigint | null>;

const toNumber = (value: string | number | bigint | null): number => (value === null ? 0 : Number(value));
const toNumberOrNull = (value: string | number | bigint | null): number | null => (value === null ? null : Number(value));

/** The request-log store over either SQL backend (PostgreSQL returns big numbers as strings). */
export function createRequestLogStore(db: SqlDatabase): RequestLogStore {
  return {
    migrate: () => migrate(db, 'request_log', MIGRATIONS),
    insert: (rows) => db.insertMany(TABLE, RECORD_COLUMNS, rows),
    usage: async ({ from, to, groupBy }) => {
      const rows = await db.query<RawUsageRow>(usageSql(db.dialect, groupBy), [from, to]);
      return rows.map((row) => ({
        group: row.grp === null ? null : String(row.grp),
        requests: toNumber(row.requests),
        errors: toNumber(row.errors),
        input_tokens: toNumber(row.input_tokens),
        output_tokens: toNumber(row.output_tokens),
        cached_tokens: toNumber(row.cached_tokens),
        reasoning_tokens: toNumber(row.reasoning_tokens),
        cost_usd: toNumber(row.cost_usd),
        p50_ms: toNumberOrNull(row.p50_ms),
        p95_ms: toNumberOrNull(row.p95_ms),
      }));
    },
    prune: (before) => db.run(`DELETE FROM ${TABLE} WHERE ts < ?`, [before]),
    close: () => db.close(),
  };
}
