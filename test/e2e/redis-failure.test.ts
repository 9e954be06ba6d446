import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

// A Redis of this test's own, on a free port, so killing it touches nothing else.
let redisPort = 0;
let redisServer: ChildProcess | undefined;
let open: GatewayProcess;
let closed: GatewayProcess;

const KEY = 'lp-test-failover-key-0001';
const ADMIN = 'test-admin-key-0123456789';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis(): Promise<void> {
  redisServer = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const probe = new Redis(redisPort, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // refused until the server listens
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error('redis-server did not start');
}

async function killRedis(): Promise<void> {
  const server = redisServer;
  if (server === undefined || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGKILL');
  await exited;
}

const config = (mode: 'open' | 'closed') => `
providers: { plain: { type: mock } }
models: { echo: { provider: plain, model: echo-1 } }
admin: { key: ${ADMIN} }
auth:
  enabled: true
  keys: [{ name: app, key: ${KEY} }]
limits:
  backend: redis
  on_backend_error: ${mode}
  per_user: { requests_per_minute: 3 }
state:
  redis: { url: "redis://127.0.0.1:${redisPort}", prefix: lp-failover, timeout_ms: 200 }
  store: { type: sqlite, path: ":memory:" }
`;

beforeAll(async () => {
  redisPort = await freePort();
  await startRedis();
  [open, closed] = await Promise.all([startGateway({ config: config('open') }), startGateway({ config: config('closed') })]);
}, 30_000);

afterAll(async () => {
  await Promise.all([open?.stop(), closed?.stop()]);
  await killRedis();
});

async function ask(gateway: GatewayProcess, user: string): Promise<{ status: number; code?: string }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'x-lightport-user': user },
    body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, ...(body.error ? { code: body.error.code } : {}) };
}

async function limitsStatus(gateway: GatewayProcess): Promise<Record<string, unknown>> {
  const response = await fetch(`${gateway.url}/admin/limits`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return (await response.json()) as Record<string, unknown>;
}

type Seen = Array<{ at: number; status: number }>;

/** Requests from a stream of distinct users until `stop` is set, recorded in `seen` in time order. */
async function steadyLoad(gateway: GatewayProcess, seen: Seen, stop: { done: boolean }): Promise<void> {
  for (let i = 0; !stop.done; i++) {
    const { status } = await ask(gateway, `steady-${i}`);
    seen.push({ at: performance.now(), status });
    await sleep(10);
  }
}

/** Waits until every list has `count` entries after `since` (a loaded machine may be slow), at most 15 s. */
async function until(lists: Seen[], since: number, count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && lists.some((list) => list.filter((entry) => entry.at > since + 50).length < count)) await sleep(50);
}

describe('Redis killed mid-run', () => {
  it('fail open admits under local limits, fail closed refuses with 503; both recover when Redis is back', async () => {
    expect(await ask(open, 'ann')).toEqual({ status: 200 });
    expect(await ask(closed, 'ann')).toEqual({ status: 200 });

    const stop = { done: false };
    const [openSeen, closedSeen]: [Seen, Seen] = [[], []];
    const loads = [steadyLoad(open, openSeen, stop), steadyLoad(closed, closedSeen, stop)];
    await until([openSeen, closedSeen], 0, 5);
    const killedAt = performance.now();
    await killRedis();
    await until([openSeen, closedSeen], killedAt, 12);
    stop.done = true;
    await Promise.all(loads);

    // Open: never an error, before or after the kill.
    expect(openSeen.filter((entry) => entry.at > killedAt + 50).length).toBeGreaterThanOrEqual(12);
    expect(openSeen.every((entry) => entry.status === 200)).toBe(true);
    // Closed: served before the kill, 503 from the moment Redis is gone.
    expect(closedSeen.filter((entry) => entry.at < killedAt).every((entry) => entry.status === 200)).toBe(true);
    const afterKill = closedSeen.filter((entry) => entry.at > killedAt + 50);
    expect(afterKill.length).toBeGreaterThanOrEqual(12);
    expect(afterKill.every((entry) => entry.status === 503)).toBe(true);
    expect(await ask(closed, 'bea')).toEqual({ status: 503, code: 'limits_unavailable' });

    // Open still limits, with this process's own counters: 3 a minute per user.
    const local = [];
    for (let i = 0; i < 4; i++) local.push((await ask(open, 'carl')).status);
    expect(local).toEqual([200, 200, 200, 429]);

    // Logged once and counted.
    const status = await limitsStatus(open);
    expect(status).toMatchObject({ backend: 'redis', fail_mode: 'open', degraded: true });
    expect(status['degraded_decisions']).toBeGreaterThanOrEqual(12);
    expect(await limitsStatus(closed)).toMatchObject({ fail_mode: 'closed', degraded: true });
    expect(open.output().stdout.match(/Redis unreachable: admitting under local in-memory limits/g)).toHaveLength(1);
    expect(closed.output().stdout).toContain('Redis unreachable: refusing requests (fail closed)');

    // Back: both decide through Redis again.
    await startRedis();
    let recovered = false;
    for (let attempt = 0; attempt < 60 && !recovered; attempt++) {
      recovered = (await ask(closed, `again-${attempt}`)).status === 200;
      if (!recovered) await sleep(100);
    }
    expect(recovered).toBe(true);
    // The open gateway reconnects on its own backoff; its next decisions go through Redis again.
    let openStatus = await limitsStatus(open);
    for (let attempt = 0; attempt < 60 && openStatus['degraded'] === true; attempt++) {
      expect(await ask(open, `dora-${attempt}`)).toEqual({ status: 200 });
      await sleep(100);
      openStatus = await limitsStatus(open);
    }
    expect(openStatus).toMatchObject({ degraded: false });
    expect(closed.output().stdout).toContain('Redis reachable again');
  });
});
