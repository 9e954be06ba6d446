/**
 * The SQL seam shared by every stored module (request logs, keys, spend): one small
 * interface with a `node:sqlite` backend (in a worker thread, so no disk work blocks a
 * request) and a PostgreSQL backend. Statements use `?` placeholders in both.
 */
import type { EncodedRows } from './encoded-rows.ts';

export type SqlValue = string | number | null;

export type SqlDialect = 'sqlite' | 'postgres';

export interface SqlDatabase {
  readonly dialect: SqlDialect;
  /** Runs statements without parameters (DDL), several separated by `;` allowed. */
  exec(sql: string): Promise<void>;
  query<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Runs one statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Inserts many rows into one table in a single transaction. */
  insertMany(table: string, columns: readonly string[], rows: EncodedRows): Promise<void>;
  close(): Promise<void>;
}
