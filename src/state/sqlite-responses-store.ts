import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { ResponsesStore, StoredResponse } from './responses-store.ts';

/** Writes waiting for the next flush; past this many, new ones are dropped and counted rather than held. */
const MOST_PENDING = 10_000;

/**
 * Responses kept in a SQLite file (node:sqlite, no native addon), surviving restarts. Writes are
 * queued and flushed together in one transaction after the current I/O turn, so they never delay
 * an answer; reads see queued writes first.
 */
export class SqliteResponsesStore implements ResponsesStore {
  readonly #db: DatabaseSync;
  readonly #select: StatementSync;
  readonly #upsert: StatementSync;
  readonly #remove: StatementSync;
  readonly #pending = new Map<string, StoredResponse>();
  #flushScheduled = false;
  /** Writes dropped because the queue was full. */
  dropped = 0;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.#db = new DatabaseSync(file);
    this.#db.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, record TEXT NOT NULL, created_at INTEGER NOT NULL)`);
    this.#select = this.#db.prepare('SELECT record FROM responses WHERE id = ?');
    this.#upsert = this.#db.prepare('INSERT OR REPLACE INTO responses (id, record, created_at) VALUES (?, ?, ?)');
    this.#remove = this.#db.prepare('DELETE FROM responses WHERE id = ?');
  }

  get(id: string): Promise<StoredResponse | undefined> {
    const pending = this.#pending.get(id);
    if (pending !== undefined) return Promise.resolve(pending);
    const row = this.#select.get(id) as { record: string } | undefined;
    return Promise.resolve(row === undefined ? undefined : (JSON.parse(row.record) as StoredResponse));
  }

  put(record: StoredResponse): void {
    if (this.#pending.size >= MOST_PENDING && !this.#pending.has(record.id)) {
      this.dropped++;
      return;
    }
    this.#pending.set(record.id, record);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  delete(id: string): Promise<boolean> {
    const wasPending = this.#pending.delete(id);
    const result = this.#remove.run(id);
    return Promise.resolve(wasPending || Number(result.changes) > 0);
  }

  close(): Promise<void> {
    this.#flush();
    this.#db.close();
    return Promise.resolve();
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#pending.size === 0 || !this.#db.isOpen) return;
    const now = Date.now();
    this.#db.exec('BEGIN');
    for (const record of this.#pending.values()) this.#upsert.run(record.id, JSON.stringify(record), now);
    this.#db.exec('COMMIT');
    this.#pending.clear();
  }
}
