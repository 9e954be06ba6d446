import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../state/postgres.ts';
import { EncodedRows } from '../state/encoded-rows.ts';
import type { SqlDatabase } from '../state/sql.ts';
import { openSqlite } from '../state/sqlite.ts';
import { createRequestLogStore, RECORD_COLUMNS, recordRow, type RequestRecord } from './request-log-store.ts';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `lp_test_store_${process.pid}_${Date.now()}`;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 10, 12);

function record(overrides: Partial<RequestRecord>): RequestRecord {
  return {
    id: `req-${Math.random()}`,
    ts: T0,
    key_name: null,
    user_id: null,
    operation: 'chat',
    model: 'fast',
    provider: 'openai',
    provider_type: 'openai',
    upstream_model: 'gpt-4o-mini',
    status: 200,
    streaming: 0,
    attempts: 1,
    duration_ms: 100,
    ttft_ms: 50,
    overhead_ms: 1,
    prompt_tokens: 10,
    completion_tokens: 5,
    cached_tokens: 2,
    reasoning_tokens: 1,
    cost_usd: 0.001,
    error_code: null,
    request_body: null,
    response_body: null,
    ...overrides,
  };
}

/** Ten requests for "fast" (latencies 10..100 ms, one failed) and two for "slow", over two days and two users. */
const RECORDS: RequestRecord[] = [
  ...Array.from({ length: 10 }, (_, index) =>
    record({
      duration_ms: (index + 1) * 10,
      user_id: index < 6 ? 'ann' : 'bob',
      key_name: 'team-a',
      status: index === 9 ? 502 : 200,
      error_code: index === 9 ? 'upstream_error' : null,
    }),
  ),
  record({ model: 'slow', provider: 'local', ts: T0 + DAY, duration_ms: 1000, cost_usd: 0.5, user_id: 'ann' }),
  record({ model: 'slow', provider: 'local', ts: T0 + DAY, duration_ms: 3000, cost_usd: 0.25, prompt_tokens: null }),
];

const backends: [string, () => SqlDatabase][] = [
  ['node:sqlite', () => openSqlite(join(mkdtempSync(join(tmpdir(), 'lightport-store-')), 'requests.db'))],
  ['PostgreSQL', () => openPostgres({ url: DATABASE_URL, schema: SCHEMA })],
];

afterAll(async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await client.end();
});

describe('recordRow', () => {
  it('gives every column of a record, in the order of the columns the store inserts', () => {
    // Distinct values, so a swapped or missing field shows as a mismatch.
    const columns = RECORD_COLUMNS as readonly (keyof RequestRecord)[];
    const distinct = Object.fromEntries(columns.map((column, index) => [column, `value-${index}`])) as unknown as RequestRecord;
    expect(recordRow(distinct)).toEqual(columns.map((_, index) => `value-${index}`));
    expect(Object.keys(record({})).toSorted()).toEqual([...columns].toSorted());
  });
});

describe.each(backends)('request-log store on %s', (_name, open) => {
  const store = createRequestLogStore(open());
  afterAll(() => store.close());

  it('migrates (again and again) and takes a batch of records', async () => {
    await store.migrate();
    await store.migrate();
    await store.insert(EncodedRows.of(RECORDS.map(recordRow)));
  });

  it('sums requests, errors, tokens and cost per model, with nearest-rank latency percentiles', async () => {
    const rows = await store.usage({ from: T0 - DAY, to: T0 + 2 * DAY, groupBy: 'model' });
    expect(rows).toEqual([
      {
        group: 'slow',
        requests: 2,
        errors: 0,
        input_tokens: 10,
        output_tokens: 10,
        cached_tokens: 4,
        reasoning_tokens: 2,
        cost_usd: 0.75,
        p50_ms: 1000,
        p95_ms: 3000,
      },
      {
        group: 'fast',
        requests: 10,
        errors: 1,
        input_tokens: 100,
        output_tokens: 50,
        cached_tokens: 20,
        reasoning_tokens: 10,
        cost_usd: expect.closeTo(0.01, 12) as number,
        p50_ms: 50,
        p95_ms: 100,
      },
    ]);
  });

  it('groups by provider, key, user and day, and honours the time window', async () => {
    const window = { from: T0 - DAY, to: T0 + 2 * DAY };
    const byProvider = await store.usage({ ...window, groupBy: 'provider' });
    expect(byProvider.map((row) => [row.group, row.requests])).toEqual([
      ['local', 2],
      ['openai', 10],
    ]);
    const byKey = await store.usage({ ...window, groupBy: 'key' });
    expect(Object.fromEntries(byKey.map((row) => [String(row.group), row.requests]))).toEqual({ 'team-a': 10, null: 2 });
    const byUser = await store.usage({ ...window, groupBy: 'user' });
    expect(Object.fromEntries(byUser.map((row) => [String(row.group), row.requests]))).toEqual({ ann: 7, bob: 4, null: 1 });
    const byDay = await store.usage({ ...window, groupBy: 'day' });
    expect(Object.fromEntries(byDay.map((row) => [String(row.group), row.requests]))).toEqual({ '2026-01-10': 10, '2026-01-11': 2 });
    const firstDayOnly = await store.usage({ from: T0, to: T0 + DAY, groupBy: 'model' });
    expect(firstDayOnly.map((row) => row.group)).toEqual(['fast']);
  });

  it('prunes records older than the retention cut-off', async () => {
    expect(await store.prune(T0 + 1)).toBe(10);
    const rows = await store.usage({ from: 0, to: T0 + 2 * DAY, groupBy: 'model' });
    expect(rows.map((row) => [row.group, row.requests])).toEqual([['slow', 2]]);
  });
});

describe('rows through node:sqlite', () => {
  it('keep every value and its type: text with quotes and non-ASCII, integers, reals, nulls', async () => {
    const db = openSqlite(join(mkdtempSync(join(tmpdir(), 'lightport-rows-')), 'rows.db'));
    await db.exec('CREATE TABLE t (a TEXT, b INTEGER, c REAL, d TEXT)');
    const rows = [
      ['it\'s "quoted" \\ é 中文 😀', 1_767_000_000_123, 0.000_001_5, null],
      ['{"json": [1, 2]}', -3, 2.5, '\n\t'],
    ];
    await db.insertMany('t', ['a', 'b', 'c', 'd'], EncodedRows.of(rows));
    const read = await db.query<Record<string, unknown>>('SELECT a, b, c, d, typeof(b) AS tb, typeof(c) AS tc FROM t ORDER BY rowid');
    expect(read).toEqual([
      { a: rows[0]?.[0], b: 1_767_000_000_123, c: 0.000_001_5, d: null, tb: 'integer', tc: 'real' },
      { a: '{"json": [1, 2]}', b: -3, c: 2.5, d: '\n\t', tb: 'integer', tc: 'real' },
    ]);
    await db.close();
  });
});

describe('batches through node:sqlite', () => {
  it('keeps every row, in order, whatever the batch size against the rows per statement', async () => {
    const db = openSqlite(join(mkdtempSync(join(tmpdir(), 'lightport-batches-')), 'batches.db'));
    await db.exec('CREATE TABLE t (batch INTEGER, n INTEGER, label TEXT, x REAL)');
    const sizes = [0, 1, 39, 40, 41, 80, 123];
    for (const [batch, size] of sizes.entries()) {
      const rows = Array.from({ length: size }, (_, n) => [batch, n, n % 7 === 0 ? null : `row ${n} ü`, n / 8]);
      await db.insertMany('t', ['batch', 'n', 'label', 'x'], EncodedRows.of(rows));
    }
    const read = await db.query<{ batch: number; n: number; label: string | null; x: number }>(
      'SELECT batch, n, label, x FROM t ORDER BY rowid',
    );
    const expected = sizes.flatMap((size, batch) =>
      Array.from({ length: size }, (_, n) => ({ batch, n, label: n % 7 === 0 ? null : `row ${n} ü`, x: n / 8 })),
    );
    expect(read).toEqual(expected);
    await db.close();
  });

  it('writes none of a batch when one of its rows is refused', async () => {
    const db = openSqlite(join(mkdtempSync(join(tmpdir(), 'lightport-batches-')), 'refused.db'));
    await db.exec('CREATE TABLE t (n INTEGER NOT NULL)');
    const rows = Array.from({ length: 45 }, (_, n) => [n === 42 ? null : n]);
    await expect(db.insertMany('t', ['n'], EncodedRows.of(rows))).rejects.toThrow(/NOT NULL/);
    expect(await db.query('SELECT n FROM t')).toEqual([]);
    await db.close();
  });
});

describe('a store that cannot be reached', () => {
  it('fails calls with an error, never the process (SQLite file in a missing directory)', async () => {
    const store = createRequestLogStore(openSqlite('/nonexistent-dir/lightport/requests.db'));
    await expect(store.migrate()).rejects.toThrow(/cannot open SQLite database/);
    await expect(store.insert(EncodedRows.of(RECORDS.map(recordRow)))).rejects.toThrow();
    await store.close();
  });

  it('fails calls with an error, never the process (PostgreSQL port with nothing listening)', async () => {
    const store = createRequestLogStore(openPostgres({ url: 'postgres://postgres@127.0.0.1:1/test', schema: 'public' }));
    await expect(store.migrate()).rejects.toThrow();
    await store.close();
  });
});
