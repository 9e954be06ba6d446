import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../state/postgres.ts';
import { openSqlite } from '../state/sqlite.ts';
import { SqlLimitsStore } from './sql-store.ts';
import type { LimitsStore, StoredKey } from './store.ts';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `lp_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

afterAll(async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

const stores: Array<[string, () => LimitsStore]> = [
  ['sqlite', () => new SqlLimitsStore(openSqlite(join(mkdtempSync(join(tmpdir(), 'lp-store-')), 'state.db')))],
  ['postgres', () => new SqlLimitsStore(openPostgres({ url: DATABASE_URL, schema }))],
];

const key = (name: string, at: number): StoredKey => ({
  name,
  sha256: randomUUID().replaceAll('-', '').padEnd(64, '0'),
  hint: 'lp-AbCd…wxyz',
  policy: {
    team: 'research',
    metadata: { tier: 'gold', seats: 3 },
    models: ['gpt-4o*'],
    mcp: { servers: ['*'], tools: {} },
    budgets: [{ usd: 5, period: 'day' }],
  },
  createdAt: at,
  updatedAt: at,
});

describe.each(stores)('%s store', (_name, open) => {
  it('keeps keys: insert once per name, list by change time, rotate and revoke', async () => {
    const store = open();
    await store.init();
    await store.init(); // a second start finds the tables there
    const inserted = key('alice', 1000);
    expect(await store.insertKey(inserted)).toBe(true);
    expect(await store.insertKey(key('alice', 1001))).toBe(false);
    expect(await store.insertKey(key('bob', 5000))).toBe(true);
    expect((await store.listKeys(0)).map((stored) => stored.name)).toEqual(['alice', 'bob']);
    expect((await store.listKeys(2000)).map((stored) => stored.name)).toEqual(['bob']);
    const [alice] = await store.listKeys(0);
    expect(alice).toEqual({ ...inserted, revokedAt: undefined });

    const rotated = await store.updateKey('alice', { sha256: 'f'.repeat(64), hint: 'lp-new…hint' }, 9000);
    expect(rotated).toMatchObject({ name: 'alice', sha256: 'f'.repeat(64), hint: 'lp-new…hint', updatedAt: 9000, createdAt: 1000 });
    const revoked = await store.updateKey('alice', { revokedAt: 9500 }, 9500);
    expect(revoked).toMatchObject({ sha256: 'f'.repeat(64), revokedAt: 9500 });
    expect(await store.updateKey('nobody', { revokedAt: 1 }, 1)).toBeUndefined();
    expect((await store.listKeys(9000)).map((stored) => stored.name)).toEqual(['alice']);
    await store.close();
  });

  it('adds spend increments per key or team and period', async () => {
    const store = open();
    await store.init();
    await store.addSpend([
      { scope: 'key', name: 'alice', period: 'day-2026-11-23', usd: 0.25 },
      { scope: 'team', name: 'alice', period: 'day-2026-11-23', usd: 1 },
      { scope: 'key', name: 'alice', period: 'day-2026-11-22', usd: 7 },
    ]);
    await store.addSpend([{ scope: 'key', name: 'alice', period: 'day-2026-11-23', usd: 0.5 }]);
    const rows = await store.readSpend(['day-2026-11-23', 'month-2026-11']);
    expect(rows.toSorted((a, b) => a.scope.localeCompare(b.scope))).toEqual([
      { scope: 'key', name: 'alice', period: 'day-2026-11-23', usd: 0.75 },
      { scope: 'team', name: 'alice', period: 'day-2026-11-23', usd: 1 },
    ]);
    await store.close();
  });
});
