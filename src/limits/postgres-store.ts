import type pg from 'pg';
import { postgresPool } from '../state/postgres.ts';
import {
  KEYS_TABLE,
  tablesSql,
  keyFromColumns,
  keysFrom,
  SPEND_TABLE,
  type KeyChange,
  type KeyColumns,
  type LimitsStore,
  type SpendRow,
  type StoredKey,
} from './store.ts';

const SCHEMA = tablesSql({ integer: 'BIGINT', real: 'DOUBLE PRECISION' });

/** Keys and spend in PostgreSQL, shared by replicas. */
export class PostgresStore implements LimitsStore {
  readonly #pool: pg.Pool;
  readonly #schema: string;

  constructor(url: string, schema: string, onError: (error: Error) => void) {
    this.#schema = schema;
    this.#pool = postgresPool(url, schema, onError);
  }

  async init(): Promise<void> {
    // Replicas starting together may all create the schema and tables; the advisory lock makes them take turns.
    const client = await this.#pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(7427001)');
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.#schema}"`);
      await client.query(SCHEMA);
    } finally {
      await client.query('SELECT pg_advisory_unlock(7427001)').catch(() => undefined);
      client.release();
    }
  }

  async listKeys(since: number): Promise<StoredKey[]> {
    const result = await this.#pool.query<KeyColumns>(`SELECT * FROM ${KEYS_TABLE} WHERE updated_at >= $1 ORDER BY name`, [since]);
    return keysFrom(result.rows);
  }

  async insertKey(key: StoredKey): Promise<boolean> {
    const result = await this.#pool.query(
      `INSERT INTO ${KEYS_TABLE} (name, key_sha256, hint, policy, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [key.name, key.sha256, key.hint, JSON.stringify(key.policy), key.createdAt, key.updatedAt],
    );
    return result.rowCount === 1;
  }

  async updateKey(name: string, change: KeyChange, at: number): Promise<StoredKey | undefined> {
    const result = await this.#pool.query<KeyColumns>(
      `UPDATE ${KEYS_TABLE} SET key_sha256 = COALESCE($1, key_sha256), hint = COALESCE($2, hint),
       revoked_at = COALESCE($3, revoked_at), updated_at = $4 WHERE name = $5 RETURNING *`,
      [change.sha256 ?? null, change.hint ?? null, change.revokedAt ?? null, at, name],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    const key = keyFromColumns(row);
    if (key instanceof Error) throw key;
    return key;
  }

  async addSpend(rows: readonly SpendRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#pool.query(
      `INSERT INTO ${SPEND_TABLE} (scope, name, period, usd)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[])
       ON CONFLICT (scope, name, period) DO UPDATE SET usd = ${SPEND_TABLE}.usd + excluded.usd`,
      [rows.map((row) => row.scope), rows.map((row) => row.name), rows.map((row) => row.period), rows.map((row) => row.usd)],
    );
  }

  async readSpend(periods: readonly string[]): Promise<SpendRow[]> {
    const result = await this.#pool.query<SpendRow>(`SELECT scope, name, period, usd FROM ${SPEND_TABLE} WHERE period = ANY($1)`, [
      [...periods],
    ]);
    return result.rows.map((row) => ({ ...row, usd: Number(row.usd) }));
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
