import type { SqlValue } from './sql.ts';

/** Messages between ./sqlite.ts and its worker. */
export type SqliteRequest = { readonly id: number } & (
  | { readonly op: 'exec'; readonly sql: string }
  | { readonly op: 'query'; readonly sql: string; readonly params: readonly SqlValue[] }
  | { readonly op: 'run'; readonly sql: string; readonly params: readonly SqlValue[] }
  /** `rows` is the rows as UTF-8 JSON (EncodedRows): one byte array crosses to the worker, far cheaper than a structured clone of every row. */
  | { readonly op: 'insertMany'; readonly table: string; readonly columns: readonly string[]; readonly rows: Uint8Array }
  | { readonly op: 'close' }
);

export type SqliteReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };
