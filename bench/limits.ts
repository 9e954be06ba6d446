// CPU per request of the gateway with keys + rate limits on (in memory, and through Redis), divided by
// the same gateway with them off, measured in one run against one fake upstream.
// Usage: node bench/limits.ts   (env: BENCH_SCALE=0.1 for a quick run, BENCH_LIMITS_RATE requests per second
// (default 2000), REDIS_URL for another Redis)
// The lead wires runLimitsBench() into bench/run.ts.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { planPinning, pinThisProcess } from './cpu-pinning.ts';
import { processTreeCpuSeconds } from './proc-cpu.ts';
import { spawnServer, type RunningServer } from './spawn-server.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const GATEWAY_KEY = 'lp-bench-key-0123456789abcdef';

type Variant = 'off' | 'memory' | 'redis';
const VARIANTS: readonly Variant[] = ['off', 'memory', 'redis'];

/** Limits high enough never to refuse: the bench measures their cost, not their effect. */
const LIMITS = '{ requests_per_minute: 100000000, tokens_per_minute: 1000000000, concurrent: 10000 }';

function configFor(variant: Variant, upstream: string, prefix: string): string {
  const provider = `
providers:
  openai:
    type: openai
    api_key: sk-bench-not-a-real-key
    base_url: ${upstream}/v1
logging: { level: warn }
`;
  if (variant === 'off') return provider;
  return `${provider}
auth:
  enabled: true
  keys:
    - { name: bench, key: ${GATEWAY_KEY}, team: perf, limits: ${LIMITS} }
limits:
  backend: ${variant}
  global: ${LIMITS}
state:
  redis: { url: "${REDIS_URL}", prefix: ${prefix} }
`;
}

const BODY = JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }] });
const CONNECTIONS = 32;
/**
 * Requests start at this fixed rate (open loop): a process's CPU per request depends on how busy
 * it is, so every variant is measured under the same load, whatever its latency.
 */
const RATE_PER_SECOND = Number(process.env['BENCH_LIMITS_RATE'] ?? '2000');

const failures: string[] = [];

/** One request; a failure is kept (a keep-alive race with the upstream can cost one now and then) and judged at the end. */
async function send(pool: Pool, variant: Variant): Promise<void> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${variant === 'off' ? 'sk-bench-client' : GATEWAY_KEY}` };
  const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body: BODY });
  const text = await response.body.text();
  if (response.statusCode !== 200) failures.push(`${variant}: HTTP ${response.statusCode} ${text.slice(0, 300)}`);
}

/** Sends `count` chat requests at RATE_PER_SECOND over up to CONNECTIONS keep-alive connections. */
async function load(pool: Pool, variant: Variant, count: number): Promise<void> {
  const begin = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let started = 0; started < count;) {
    const due = Math.min(count, Math.floor(((performance.now() - begin) / 1000) * RATE_PER_SECOND) + 1);
    for (; started < due; started++) inFlight.push(send(pool, variant));
    await sleep(1);
  }
  await Promise.all(inFlight);
}

const median = (values: readonly number[]): number => {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

async function startServers(servers: RunningServer[], prefix: string): Promise<Record<Variant, RunningServer>> {
  const pinning = planPinning();
  if (pinning.drivers) pinThisProcess(pinning.drivers);
  const start = async (name: string, args: string[], cpus: string | undefined): Promise<RunningServer> => {
    const server = await spawnServer(name, args, {
      cwd: repoRoot,
      env: { ...process.env, LIGHTPORT_LOG_LEVEL: 'warn' },
      ...(cpus ? { cpus } : {}),
    });
    servers.push(server);
    return server;
  };
  const upstream = await start('fake upstream', ['bench/fake-upstream.ts'], pinning.drivers);
  const directory = mkdtempSync(path.join(tmpdir(), 'lightport-bench-limits-'));
  const gateways = await Promise.all(
    VARIANTS.map((variant) => {
      const file = path.join(directory, `${variant}.yaml`);
      writeFileSync(file, configFor(variant, upstream.origin, prefix));
      return start(`gateway (${variant})`, ['bin/lightport.js', 'start', '--config', file, '--port', '0'], pinning.proxies);
    }),
  );
  return { off: gateways[0] as RunningServer, memory: gateways[1] as RunningServer, redis: gateways[2] as RunningServer };
}

const rounded = (value: number, digits: number): number => Number(value.toFixed(digits));

/** The figures: CPU µs per request for each variant, and the two ratios to `off`. */
export async function runLimitsBench(): Promise<Record<string, number>> {
  const scale = Number(process.env['BENCH_SCALE'] ?? '1');
  const requests = Math.max(200, Math.round(10_000 * scale));
  const rounds = 5;
  const prefix = `lightport-bench-${randomUUID().slice(0, 8)}`;
  const servers: RunningServer[] = [];
  const pools: Pool[] = [];
  try {
    const gateways = await startServers(servers, prefix);
    const poolOf = Object.fromEntries(
      VARIANTS.map((variant) => {
        const pool = new Pool(gateways[variant].origin, { connections: CONNECTIONS, pipelining: 1 });
        pools.push(pool);
        return [variant, pool];
      }),
    ) as Record<Variant, Pool>;
    for (const variant of VARIANTS) await load(poolOf[variant], variant, Math.max(500, Math.round(requests / 4)));
    const samples: Record<Variant, number[]> = { off: [], memory: [], redis: [] };
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < VARIANTS.length; i++) {
        const variant = VARIANTS[(round + i) % VARIANTS.length] as Variant;
        const before = processTreeCpuSeconds(gateways[variant].pid);
        await load(poolOf[variant], variant, requests);
        samples[variant].push(((processTreeCpuSeconds(gateways[variant].pid) - before) * 1e6) / requests);
      }
    }
    // More than one failure in a thousand is a broken run, not noise.
    if (failures.length > (requests * rounds * VARIANTS.length) / 1000)
      throw new Error(`limits bench: ${failures.length} failures, e.g. ${failures[0]}`);
    const cpu = { off: median(samples.off), memory: median(samples.memory), redis: median(samples.redis) };
    for (const variant of VARIANTS)
      process.stderr.write(`limits bench ${variant}: ${samples[variant].map((us) => us.toFixed(0)).join(' ')} µs\n`);
    return {
      'limits.cpu_us_per_request.off': rounded(cpu.off, 1),
      'limits.cpu_us_per_request.memory': rounded(cpu.memory, 1),
      'limits.cpu_us_per_request.redis': rounded(cpu.redis, 1),
      'limits.cpu_ratio_memory_to_off': rounded(cpu.memory / cpu.off, 3),
      'limits.cpu_ratio_redis_to_off': rounded(cpu.redis / cpu.off, 3),
      'limits.failed_requests': failures.length,
    };
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
    await Promise.all(servers.map((server) => server.stop()));
    await dropKeys(prefix);
  }
}

async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const keys = await redis.keys(`{${prefix}}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } catch {
    // Nothing to clean when Redis is not there; the bench has already said so.
  } finally {
    redis.disconnect();
  }
}

export const LIMITS_TARGETS = { 'limits.cpu_ratio_memory_to_off': 1.05, 'limits.cpu_ratio_redis_to_off': 1.2 } as const;

if (import.meta.main) {
  const figures = await runLimitsBench();
  for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(36)} ${value}`);
  for (const [name, limit] of Object.entries(LIMITS_TARGETS)) {
    const value = figures[name] ?? Number.NaN;
    console.log(`target ${name} ≤ ${limit}: ${value <= limit ? 'met' : 'MISSED'} (${value})`);
  }
}
