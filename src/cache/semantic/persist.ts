import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { CachedAnswer } from '../answer-store.ts';
import type { SemanticEntry } from './entry.ts';

export interface StoredEntry {
  readonly entry: SemanticEntry;
  readonly answer: CachedAnswer;
}

/**
 * The semantic index on disk (node:sqlite). Writes are queued and flushed in one
 * transaction on the next turn of the event loop, never on a request's path; the queue
 * is bounded and drops (and counts) past its size.
 */
export class SemanticPersistence {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #queue: StoredEntry[] = [];
  #scheduled = false;
  dropped = 0;

  static readonly MAX_QUEUE = 10_000;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec(`CREATE TABLE IF NOT EXISTS semantic_entries (
      partition TEXT NOT NULL, text TEXT NOT NULL, namespace TEXT NOT NULL, model TEXT NOT NULL,
      key TEXT NOT NULL, expires_at INTEGER NOT NULL, body TEXT NOT NULL, usage TEXT, PRIMARY KEY (partition, key))`);
    this.#insert = this.#db.prepare(
      'INSERT OR REPLACE INTO semantic_entries (partition, text, namespace, model, key, expires_at, body, usage) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  load(now: number): StoredEntry[] {
    this.#db.prepare('DELETE FROM semantic_entries WHERE expires_at <= ?').run(now);
    const rows = this.#db.prepare('SELECT partition, text, namespace, model, key, expires_at, body, usage FROM semantic_entries').all();
    return rows.map((row) => {
      const expiresAt = Number(row['expires_at']);
      const usage = typeof row['usage'] === 'string' ? { usage: JSON.parse(row['usage']) as CachedAnswer['usage'] } : {};
      return {
        entry: {
          partition: String(row['partition']),
          text: String(row['text']),
          address: { namespace: String(row['namespace']), model: String(row['model']), key: String(row['key']) },
          expiresAt,
        },
        answer: { body: String(row['body']), expiresAt, ...usage },
      };
    });
  }

  save(stored: StoredEntry): void {
    if (this.#queue.length >= SemanticPersistence.MAX_QUEUE) {
      this.dropped++;
      return;
    }
    this.#queue.push(stored);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#queue.length === 0) return;
    const batch = this.#queue.splice(0);
    this.#db.exec('BEGIN');
    for (const { entry, answer } of batch) {
      const { address } = entry;
      const usage = answer.usage === undefined ? null : JSON.stringify(answer.usage);
      this.#insert.run(entry.partition, entry.text, address.namespace, address.model, address.key, entry.expiresAt, answer.body, usage);
    }
    this.#db.exec('COMMIT');
  }

  purge(namespace: string | undefined, model: string | undefined): void {
    this.flush();
    this.#db
      .prepare(
        "DELETE FROM semantic_entries WHERE (?1 IS NULL OR namespace = ?1 OR namespace LIKE ?1 || '.%') AND (?2 IS NULL OR model = ?2)",
      )
      .run(namespace ?? null, model ?? null);
  }

  close(): void {
    this.flush();
    this.#db.close();
  }
}
