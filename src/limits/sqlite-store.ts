import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openSqlite } from '../state/sqlite.ts';
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

const SCHEMA = tablesSql({ integer: 'INTEGER', real: 'REAL' });

/** Keys and spend in a local SQLite file (node:sqlite): the store when nothing else is configured. */
export class SqliteStore implements LimitsStore {
  readonly #database: DatabaseSync;
  readonly #statements: Record<'list' | 'insert' | 'select' | 'addSpend', StatementSync>;

  constructor(path: string) {
    this.#database = openSqlite(path);
    this.#database.exec(SCHEMA);
    this.#statements = {
      list: this.#database.prepare(`SELECT * FROM ${KEYS_TABLE} WHERE updated_at >= ? ORDER BY name`),
      insert: this.#database.prepare(
        `INSERT INTO ${KEYS_TABLE} (name, key_sha256, hint, policy, created_at, updated_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING`,
      ),
      select: this.#database.prepare(`SELECT * FROM ${KEYS_TABLE} WHERE name = ?`),
      addSpend: this.#database.prepare(
        `INSERT INTO ${SPEND_TABLE} (scope, name, period, usd) VALUES (?, ?, ?, ?)
         ON CONFLICT (scope, name, period) DO UPDATE SET usd = usd + excluded.usd`,
      ),
    };
  }

  async init(): Promise<void> {}

  async listKeys(since: number): Promise<StoredKey[]> {
    return keysFrom(this.#statements.list.all(since) as unknown as KeyColumns[]);
  }

  async insertKey(key: StoredKey): Promise<boolean> {
    const { changes } = this.#statements.insert.run(
      key.name,
      key.sha256,
      key.hint,
      JSON.stringify(key.policy),
      key.createdAt,
      key.updatedAt,
    );
    return changes === 1;
  }

  async updateKey(name: string, change: KeyChange, at: number): Promise<StoredKey | undefined> {
    this.#database
      .prepare(
        `UPDATE ${KEYS_TABLE} SET key_sha256 = COALESCE(?, key_sha256), hint = COALESCE(?, hint),
         revoked_at = COALESCE(?, revoked_at), updated_at = ? WHERE name = ?`,
      )
      .run(change.sha256 ?? null, change.hint ?? null, change.revokedAt ?? null, at, name);
    const row = this.#statements.select.get(name) as unknown as KeyColumns | undefined;
    if (row === undefined) return undefined;
    const key = keyFromColumns(row);
    if (key instanceof Error) throw key;
    return key;
  }

  async addSpend(rows: readonly SpendRow[]): Promise<void> {
    this.#database.exec('BEGIN');
    try {
      for (const row of rows) this.#statements.addSpend.run(row.scope, row.name, row.period, row.usd);
      this.#database.exec('COMMIT');
    } catch (error) {
      this.#database.exec('ROLLBACK');
      throw error;
    }
  }

  async readSpend(periods: readonly string[]): Promise<SpendRow[]> {
    if (periods.length === 0) return [];
    const marks = periods.map(() => '?').join(', ');
    const rows = this.#database.prepare(`SELECT scope, name, period, usd FROM ${SPEND_TABLE} WHERE period IN (${marks})`).all(...periods);
    return rows as unknown as SpendRow[];
  }

  async close(): Promise<void> {
    if (this.#database.isOpen) this.#database.close();
  }
}
