import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { scrape } from '../support/prometheus.ts';

const ADMIN_KEY = 'admin-REQUESTLOG-key-0123456789';
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `lp_test_e2e_${process.pid}_${Date.now()}`;

/** Two mock providers with fixed usage and prices, so every total below is known. */
const PROVIDERS = `
providers:
  alpha: { type: mock, usage: { prompt_tokens: 100, completion_tokens: 10 }, errors: [{ rate: 0.25, kind: status, status: 503 }] }
  beta: { type: mock, usage: { prompt_tokens: 1000, completion_tokens: 100 } }
models:
  small: { provider: alpha, model: a-1 }
  large: { provider: beta, model: b-1 }
pricing:
  models:
    alpha/*: { input_per_mtok: 1, output_per_mtok: 10 }
    beta/*: { input_per_mtok: 2, output_per_mtok: 20 }
admin: { key: "${ADMIN_KEY}" }
`;

async function chat(gateway: GatewayProcess, model: string, user: string): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, user, messages: [{ role: 'user', content: 'store me' }] }),
  });
  await response.text();
  return response.status;
}

/** 8 requests to "small" by ann (2 of them fail: the mock fails every fourth), 2 to "large" by bob. */
async function sendKnownTraffic(gateway: GatewayProcess): Promise<void> {
  for (let i = 0; i < 8; i++) await chat(gateway, 'small', 'ann');
  for (let i = 0; i < 2; i++) await chat(gateway, 'large', 'bob');
}

interface UsageBody {
  group_by: string;
  data: {
    group: string | null;
    requests: number;
    errors: number;
    error_rate: number;
    input_tokens: number;
    output_tokens: number;
    cost_usd: number;
    latency_ms: { p50: number; p95: number };
  }[];
}

async function usage(gateway: GatewayProcess, query: string, key = ADMIN_KEY): Promise<Response> {
  return fetch(`${gateway.url}/v1/usage?${query}`, { headers: { authorization: `Bearer ${key}` } });
}

/** Polls the usage API until the store holds `count` requests (records are written after the response). */
async function waitForRecords(gateway: GatewayProcess, count: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const body = (await (await usage(gateway, 'group_by=model')).json()) as UsageBody;
    if (body.data.reduce((total, row) => total + row.requests, 0) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the store never held ${count} records`);
}

function checkKnownTotals(body: UsageBody): void {
  const byModel = Object.fromEntries(body.data.map((row) => [row.group, row]));
  expect(byModel['large']).toMatchObject({ requests: 2, errors: 0, input_tokens: 2000, output_tokens: 200 });
  expect(byModel['large']?.cost_usd).toBeCloseTo((2 * (1000 * 2 + 100 * 20)) / 1e6, 12);
  expect(byModel['small']).toMatchObject({ requests: 8, errors: 2, error_rate: 0.25, input_tokens: 600, output_tokens: 60 });
  expect(byModel['small']?.cost_usd).toBeCloseTo((6 * (100 * 1 + 10 * 10)) / 1e6, 12);
  expect(byModel['small']?.latency_ms.p50).toBeGreaterThan(0);
  expect(byModel['small']?.latency_ms.p95).toBeGreaterThanOrEqual(byModel['small']?.latency_ms.p50 ?? 0);
}

describe('request-log store on node:sqlite (the default), read through the usage API', () => {
  let gateway: GatewayProcess;
  const file = join(mkdtempSync(join(tmpdir(), 'lightport-e2e-store-')), 'requests.db');

  beforeAll(async () => {
    gateway = await startGateway({
      config: `
logging: { level: warn, bodies: errors }
request_log: { sqlite_path: "${file}", flush_ms: 50 }
${PROVIDERS}`,
    });
    await sendKnownTraffic(gateway);
    await waitForRecords(gateway, 10);
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('answers usage grouped by model with requests, tokens, cost, error rate and latency percentiles', async () => {
    const response = await usage(gateway, 'group_by=model');
    expect(response.status).toBe(200);
    const body = (await response.json()) as UsageBody;
    expect(body.group_by).toBe('model');
    checkKnownTotals(body);
  });

  it('groups by provider, user and day, and honours from/to', async () => {
    const byProvider = (await (await usage(gateway, 'group_by=provider')).json()) as UsageBody;
    expect(Object.fromEntries(byProvider.data.map((row) => [row.group, row.requests]))).toEqual({ alpha: 8, beta: 2 });
    const byUser = (await (await usage(gateway, 'group_by=user')).json()) as UsageBody;
    expect(Object.fromEntries(byUser.data.map((row) => [row.group, row.requests]))).toEqual({ ann: 8, bob: 2 });
    const today = new Date().toISOString().slice(0, 10);
    const byDay = (await (await usage(gateway, 'group_by=day')).json()) as UsageBody;
    expect(byDay.data.map((row) => [row.group, row.requests])).toEqual([[today, 10]]);
    const byKey = (await (await usage(gateway, 'group_by=key')).json()) as UsageBody;
    expect(byKey.data.map((row) => [row.group, row.requests])).toEqual([[null, 10]]);
    const past = (await (await usage(gateway, 'from=2020-01-01&to=2020-01-02')).json()) as UsageBody;
    expect(past.data).toEqual([]);
  });

  it('refuses callers without the admin key, and bad parameters, in OpenAI error shape', async () => {
    const none = await fetch(`${gateway.url}/v1/usage`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('admin_unauthorized');
    expect((await usage(gateway, 'group_by=model', 'wrong-key')).status).toBe(401);
    const badGroup = await usage(gateway, 'group_by=color');
    expect(badGroup.status).toBe(400);
    expect(((await badGroup.json()) as { error: { param: string } }).error.param).toBe('group_by');
    expect((await usage(gateway, 'from=yesterday')).status).toBe(400);
    // Past what a date holds, or not ISO 8601 nor epoch seconds ('-1' would parse as a year).
    for (const query of ['to=99999999999999', 'from=0&to=99999999999999', 'from=-1', 'from=1.5', 'to=-1']) {
      const answer = await usage(gateway, query);
      expect(answer.status, query).toBe(400);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
    expect((await usage(gateway, 'from=2020-01-01T00:00:00Z&to=1600000000')).status).toBe(200);
  });

  it('stores one record per request, with bodies at the chosen tier (errors only here)', () => {
    const db = new DatabaseSync(file, { readOnly: true });
    const rows = db.prepare('SELECT status, model, user_id, request_body, response_body, cost_usd FROM lightport_request_log').all();
    db.close();
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      if (Number(row['status']) >= 400) {
        expect(String(row['request_body'])).toContain('store me');
        expect(String(row['response_body'])).toContain('error');
      } else {
        expect(row['request_body']).toBeNull();
        expect(row['cost_usd']).toBeGreaterThan(0);
      }
    }
  });
});

describe('request-log store on PostgreSQL (a schema of its own for this run)', () => {
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await startGateway({
      config: `
logging: { level: warn }
request_log: { backend: postgres, postgres_schema: ${SCHEMA}, flush_ms: 50 }
${PROVIDERS}`,
      env: { DATABASE_URL },
    });
    await sendKnownTraffic(gateway);
    await waitForRecords(gateway, 10);
  });

  afterAll(async () => {
    await gateway?.stop();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await client.end();
  });

  it('writes the records to PostgreSQL and answers the same usage totals', async () => {
    const body = (await (await usage(gateway, 'group_by=model')).json()) as UsageBody;
    checkKnownTotals(body);
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    const result = await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${SCHEMA}".lightport_request_log`);
    await client.end();
    expect(Number(result.rows[0]?.n)).toBe(10);
  });
});

describe('a request-log store that is down', () => {
  let blackhole: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // Accepts connections and never answers: the worst kind of database outage.
    blackhole = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackhole.close(resolve));
  });

  it('never fails or slows a request, and counts what it drops', async () => {
    const port = (blackhole.address() as { port: number }).port;
    const gateway = await startGateway({
      config: `
logging: { level: warn }
request_log: { postgres_url: "postgres://postgres@127.0.0.1:${port}/test", queue_size: 10, batch_size: 5, flush_ms: 20 }
${PROVIDERS}`,
    });
    try {
      const started = performance.now();
      const statuses = await Promise.all(Array.from({ length: 30 }, () => chat(gateway, 'large', 'carol')));
      const elapsedMs = performance.now() - started;
      expect(statuses.every((status) => status === 200)).toBe(true);
      // The store's connection attempt hangs for 3 s; the requests did not wait for it.
      expect(elapsedMs).toBeLessThan(2000);
      let dropped = 0;
      let failedWrites = 0;
      for (let tries = 0; tries < 100 && (dropped < 20 || failedWrites === 0); tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const metrics = await scrape(`${gateway.url}/metrics`);
        dropped = metrics.value('lightport_request_log_dropped_total');
        failedWrites = metrics.value('lightport_request_log_dropped_total', { reason: 'error' });
        expect(metrics.value('lightport_request_log_written_total')).toBe(0);
      }
      // 30 requests: 10 to 15 fit the queue (a batch that goes out meanwhile makes room), the rest are
      // dropped at once; the hanging batch's records once the connection attempt fails, after 3 s.
      expect(dropped).toBeGreaterThanOrEqual(20);
      const metrics = await scrape(`${gateway.url}/metrics`);
      expect(metrics.value('lightport_request_log_dropped_total', { reason: 'queue_full' })).toBeGreaterThanOrEqual(15);
      expect(metrics.value('lightport_request_log_dropped_total', { reason: 'error' })).toBeGreaterThanOrEqual(1);
      expect((await usage(gateway, 'group_by=model')).status).toBe(503);
    } finally {
      await gateway.stop();
    }
  });
});
