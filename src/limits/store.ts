import { z } from 'zod';
import { keyPolicyFields } from '../config/limits-schema.ts';
import type { KeyPolicy } from './keys.ts';

/** A key made through the admin API, as stored: its SHA-256, never the key. */
export interface StoredKey {
  readonly name: string;
  readonly sha256: string;
  /** `lp-AbCd…wxYz`: enough to recognise a key in a listing. */
  readonly hint: string;
  readonly policy: KeyPolicy;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly revokedAt?: number | undefined;
}

export interface KeyChange {
  readonly sha256?: string;
  readonly hint?: string;
  readonly revokedAt?: number;
}

export interface KeyStore {
  /** Keys changed at or after `since` (epoch ms); 0 for all. */
  listKeys(since: number): Promise<StoredKey[]>;
  /** False when a key of that name exists. */
  insertKey(key: StoredKey): Promise<boolean>;
  /** The key after the change, or undefined when there is none of that name. */
  updateKey(name: string, change: KeyChange, at: number): Promise<StoredKey | undefined>;
}

export interface SpendRow {
  readonly scope: 'key' | 'team';
  readonly name: string;
  /** A period id from periods.ts, e.g. `day-2026-11-23`. */
  readonly period: string;
  usd: number;
}

export interface SpendStore {
  /** Adds each row's usd to the stored total of its key or team and period. */
  addSpend(rows: readonly SpendRow[]): Promise<void>;
  readSpend(periods: readonly string[]): Promise<SpendRow[]>;
}

export interface LimitsStore extends KeyStore, SpendStore {
  /** Creates the tables when missing. */
  init(): Promise<void>;
  close(): Promise<void>;
}

export const keyPolicySchema = z.strictObject(keyPolicyFields);

export interface KeyColumns {
  readonly name: string;
  readonly key_sha256: string;
  readonly hint: string;
  readonly policy: string;
  readonly created_at: number | string;
  readonly updated_at: number | string;
  readonly revoked_at: number | string | null;
}

/** A row back into a key; a policy that no longer parses (an older schema) is reported, not trusted. */
export function keyFromColumns(row: KeyColumns): StoredKey | Error {
  const policy = keyPolicySchema.safeParse(JSON.parse(row.policy));
  if (!policy.success) return new Error(`stored key "${row.name}" has an invalid policy: ${policy.error.issues[0]?.message ?? ''}`);
  return {
    name: row.name,
    sha256: row.key_sha256,
    hint: row.hint,
    policy: policy.data,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    revokedAt: row.revoked_at === null ? undefined : Number(row.revoked_at),
  };
}

/** Rows that no longer parse are skipped. */
export function keysFrom(rows: readonly KeyColumns[]): StoredKey[] {
  const keys: StoredKey[] = [];
  for (const row of rows) {
    const key = keyFromColumns(row);
    if (!(key instanceof Error)) keys.push(key);
  }
  return keys;
}

export const KEYS_TABLE = 'lightport_keys';
export const SPEND_TABLE = 'lightport_spend';

/** The tables, in the integer and floating-point types of each database. */
export function tablesSql(types: { readonly integer: string; readonly real: string }): string {
  return `
CREATE TABLE IF NOT EXISTS ${KEYS_TABLE} (
  name TEXT PRIMARY KEY,
  key_sha256 TEXT NOT NULL UNIQUE,
  hint TEXT NOT NULL,
  policy TEXT NOT NULL,
  created_at ${types.integer} NOT NULL,
  updated_at ${types.integer} NOT NULL,
  revoked_at ${types.integer}
);
CREATE INDEX IF NOT EXISTS ${KEYS_TABLE}_updated ON ${KEYS_TABLE} (updated_at);
CREATE TABLE IF NOT EXISTS ${SPEND_TABLE} (
  scope TEXT NOT NULL,
  name TEXT NOT NULL,
  period TEXT NOT NULL,
  usd ${types.real} NOT NULL,
  PRIMARY KEY (scope, name, period)
);`;
}
