import type { SqlDatabase } from '../state/sql.ts';
import {
  KEYS_TABLE,
  keyFromColumns,
  keysFrom,
  SPEND_TABLE,
  tablesSql,
  type KeyChange,
  type KeyColumns,
  type LimitsStore,
  type SpendRow,
  type StoredKey,
} from './store.ts';

/** Keys and spend over the shared SQL seam: SQLite (in its worker thread) or PostgreSQL (shared by replicas). */
export class SqlLimitsStore implements LimitsStore {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async init(): Promise<void> {
    const ddl =
      this.#db.dialect === 'sqlite'
        ? tablesSql({ integer: 'INTEGER', real: 'REAL' })
        : tablesSql({ integer: 'BIGINT', real: 'DOUBLE PRECISION' });
    // Replicas starting together may race to create the schema and tables (PostgreSQL then reports a
    // duplicate); a moment later the loser finds them made.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#db.exec(ddl);
        return;
      } catch (error) {
        if (attempt === 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  async listKeys(since: number): Promise<StoredKey[]> {
    return keysFrom(await this.#db.query<KeyColumns>(`SELECT * FROM ${KEYS_TABLE} WHERE updated_at >= ? ORDER BY name`, [since]));
  }

  async insertKey(key: StoredKey): Promise<boolean> {
    const changed = await this.#db.run(
      `INSERT INTO ${KEYS_TABLE} (name, key_sha256, hint, policy, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [key.name, key.sha256, key.hint, JSON.stringify(key.policy), key.createdAt, key.updatedAt],
    );
    return changed === 1;
  }

  async updateKey(name: string, change: KeyChange, at: number): Promise<StoredKey | undefined> {
    const [row] = await this.#db.query<KeyColumns>(
      `UPDATE ${KEYS_TABLE} SET key_sha256 = COALESCE(?, key_sha256), hint = COALESCE(?, hint),
       revoked_at = COALESCE(?, revoked_at), updated_at = ? WHERE name = ? RETURNING *`,
      [change.sha256 ?? null, change.hint ?? null, change.revokedAt ?? null, at, name],
    );
    if (row === undefined) return undefined;
    const key = keyFromColumns(row);
    if (key instanceof Error) throw key;
    return key;
  }

  async addSpend(rows: readonly SpendRow[]): Promise<void> {
    for (const row of rows) {
      await this.#db.run(
        `INSERT INTO ${SPEND_TABLE} (scope, name, period, usd) VALUES (?, ?, ?, ?)
         ON CONFLICT (scope, name, period) DO UPDATE SET usd = ${SPEND_TABLE}.usd + excluded.usd`,
        [row.scope, row.name, row.period, row.usd],
      );
    }
  }

  async readSpend(periods: readonly string[]): Promise<SpendRow[]> {
    if (periods.length === 0) return [];
    const rows = await this.#db.query<SpendRow>(
      `SELECT scope, name, period, usd FROM ${SPEND_TABLE} WHERE period IN (${periods.map(() => '?').join(', ')})`,
      periods,
    );
    return rows.map((row) => ({ scope: row.scope, name: row.name, period: row.period, usd: Number(row.usd) }));
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}
