import { lazyModule } from './lazy-module.ts';
import { decodeRows } from './encoded-rows.ts';
import type { SqlDatabase, SqlValue } from './sql.ts';

export interface PostgresOptions {
  readonly url: string;
  /** Every table lives in this schema; it is created when missing. */
  readonly schema: string;
  readonly connectTimeoutMs?: number;
}

const pg = lazyModule<typeof import('pg')>('pg');

/** `?` placeholders, as in SQLite, become PostgreSQL's `$1, $2...`. */
function numbered(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/** A PostgreSQL pool behind the shared SQL seam; an unreachable server fails calls, never the process. */
export function openPostgres(options: PostgresOptions): SqlDatabase {
  const pool = new (pg().Pool)({
    connectionString: options.url,
    max: 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: 30_000,
    options: `-c search_path="${options.schema}"`,
  });
  // An idle connection the server drops must not crash the gateway; the next call reconnects.
  pool.on('error', () => {});
  let schemaReady: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    schemaReady ??= pool.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`).then(
      () => undefined,
      (error: unknown) => {
        schemaReady = undefined;
        throw error;
      },
    );
    return schemaReady;
  };

  return {
    dialect: 'postgres',
    exec: async (sql) => {
      await ready();
      await pool.query(sql);
    },
    query: async <Row>(sql: string, params: readonly SqlValue[] = []) => {
      await ready();
      const result = await pool.query(numbered(sql), params as unknown[]);
      return result.rows as Row[];
    },
    run: async (sql, params = []) => {
      await ready();
      return (await pool.query(numbered(sql), params as unknown[])).rowCount ?? 0;
    },
    insertMany: async (table, columns, encoded) => {
      if (encoded.count === 0) return;
      const rows = decodeRows(encoded.json());
      await ready();
      const width = columns.length;
      const values = rows.map((_, row) => `(${columns.map((__, column) => `$${row * width + column + 1}`).join(', ')})`);
      await pool.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values.join(', ')}`, rows.flat() as unknown[]);
    },
    close: () => pool.end(),
  };
}
