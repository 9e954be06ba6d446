// CPU per request of the gateway with keys + rate limits on (in memory, and through Redis), divided by
// the same gateway with them off, measured in one run against one fake upstream.
// Usage: node bench/limits.ts   (env: BENCH_SCALE=0.1 for a quick run, REDIS_URL for a given Redis instead of the bench's own)
// The lead wires runLimitsBench() into bench/run.ts.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { balancedOrder } from './balanced-order.ts';
import { median } from './stats.ts';
import { planPinning, pinThisProcess } from './cpu-pinning.ts';
import { startBenchRedis, type BenchRedis } from './pinned-redis.ts';
import { closePools, runLoad, type Target } from './load.ts';
import { minorFaults, processTreeCpuSeconds } from './proc-cpu.ts';
import { spawnServer, type RunningServer } from './spawn-server.ts';
import { warmupRequests } from './warmup.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GATEWAY_KEY = 'lp-bench-key-0123456789abcdef';

/** `control`: a second set of limits-off gateways, whose ratio to `off` shows the run's own noise. */
type Variant = 'off' | 'memory' | 'redis' | 'control';
const VARIANTS: readonly Variant[] = ['off', 'memory', 'redis', 'control'];

/** Limits high enough never to refuse: the bench measures their cost, not their effect. */
const LIMITS = '{ requests_per_minute: 100000000, tokens_per_minute: 1000000000, concurrent: 10000 }';

function configFor(variant: Variant, upstream: string, redisUrl: string, prefix: string): string {
  const provider = `
providers:
  openai:
    type: openai
    api_key: sk-bench-not-a-real-key
    base_url: ${upstream}/v1
logging: { level: warn }
`;
  if (variant === 'off' || variant === 'control') return provider;
  return `${provider}
auth:
  enabled: true
  keys:
    - { name: bench, key: ${GATEWAY_KEY}, team: perf, limits: ${LIMITS} }
limits:
  backend: ${variant === 'redis' ? 'redis' : 'memory'}
  global: ${LIMITS}
state:
  redis: { url: "${redisUrl}", prefix: ${prefix} }
`;
}

function target(variant: Variant, origin: string, replica: number): Target {
  const messages = [{ role: 'user', content: 'Say hello in one short sentence.' }];
  const model = 'openai/gpt-4o-mini';
  return {
    name: `limits-${variant}-${replica}`,
    origin,
    path: '/v1/chat/completions',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${variant === 'off' || variant === 'control' ? 'sk-bench-client' : GATEWAY_KEY}`,
    },
    bodies: { plain: JSON.stringify({ model, messages }), stream: JSON.stringify({ model, messages, stream: true }) },
  };
}

/**
 * Gateway processes per variant (BENCH_LIMITS_REPLICAS): two processes running the same code differ
 * by a few percent for as long as they live, and this suite's target (5%) is about that size, so
 * its rounds are spread over four processes per variant rather than the core comparison's two.
 */
const REPLICAS = Math.max(1, Number(process.env['BENCH_LIMITS_REPLICAS'] ?? '4'));

async function startServers(servers: RunningServer[], redisUrl: string, prefix: string): Promise<Record<Variant, RunningServer[]>> {
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
  // One at a time: a dozen Node processes starting at once on the proxies' core take long enough
  // that the last ones miss the start-up timeout.
  const gateways: Record<Variant, RunningServer[]> = { off: [], memory: [], redis: [], control: [] };
  const files = Object.fromEntries(
    VARIANTS.map((variant) => {
      const file = path.join(directory, `${variant}.yaml`);
      writeFileSync(file, configFor(variant, upstream.origin, redisUrl, prefix));
      return [variant, file];
    }),
  ) as Record<Variant, string>;
  for (let index = 0; index < REPLICAS; index++) {
    for (const variant of balancedOrder(VARIANTS, index)) {
      const args = ['bin/lightport.js', 'start', '--config', files[variant], '--port', '0'];
      gateways[variant][index] = await start(`gateway (${variant} ${index + 1})`, args, pinning.proxies);
    }
  }
  return gateways;
}

const rounded = (value: number, digits: number): number => Number(value.toFixed(digits));

const CONNECTIONS = 32;
const WARMUP = warmupRequests(Number(process.env['BENCH_SCALE'] ?? '1'));
const WARMUP_PASSES = 5;

/**
 * The figures: CPU µs per request for each variant, and the two ratios to `off`. Many short
 * rounds in balanced order (bench/balanced-order.ts), summed: on a shared machine CPU per request drifts from second to
 * second, and totals keep garbage collection (which lands in some rounds only) in the figure.
 */
export async function runLimitsBench(): Promise<Record<string, number>> {
  const scale = Number(process.env['BENCH_SCALE'] ?? '1');
  const requests = Math.max(100, Math.round(2000 * scale));
  // Each of the 24 orders of the four variants once on each of the four replicas.
  const rounds = 96;
  const prefix = `lightport-bench-${randomUUID().slice(0, 8)}`;
  const servers: RunningServer[] = [];
  let errors = 0;
  let redis: BenchRedis | undefined;
  try {
    redis = await startBenchRedis(planPinning().drivers);
    process.stderr.write(`limits bench: Redis is ${redis.description}\n`);
    const gateways = await startServers(servers, redis.url, prefix);
    const targets = Object.fromEntries(
      VARIANTS.map((variant) => [variant, gateways[variant].map((gateway, index) => target(variant, gateway.origin, index))]),
    ) as Record<Variant, Target[]>;
    const faults: Record<Variant, number> = { off: 0, memory: 0, redis: 0, control: 0 };
    const run = async (variant: Variant, replica: number, count: number): Promise<number> => {
      const gateway = gateways[variant][replica] as RunningServer;
      const faultsBefore = minorFaults(gateway.pid);
      const before = processTreeCpuSeconds(gateway.pid);
      const result = await runLoad(targets[variant][replica] as Target, 'plain', count, { connections: CONNECTIONS });
      const spent = processTreeCpuSeconds(gateway.pid) - before;
      faults[variant] += minorFaults(gateway.pid) - faultsBefore;
      errors += result.errors;
      if (result.errors > count / 100) throw new Error(`limits bench (${variant}): ${result.firstError}\n${gateway.recentOutput()}`);
      return spent;
    };
    // Warm-up in passes over every gateway, so that none sits idle for long before its first round.
    for (let pass = 0; pass < WARMUP_PASSES; pass++) {
      for (let replica = 0; replica < REPLICAS; replica++) {
        for (const variant of balancedOrder(VARIANTS, pass + replica)) await run(variant, replica, Math.ceil(WARMUP / WARMUP_PASSES));
      }
    }
    errors = 0;
    for (const variant of VARIANTS) faults[variant] = 0;
    const seconds: Record<Variant, number> = { off: 0, memory: 0, redis: 0, control: 0 };
    const roundRatios: Record<Variant, number[]> = { off: [], memory: [], redis: [], control: [] };
    for (let round = 0; round < rounds; round++) {
      // Each replica in turn, and over each replica's rounds every order of the variants.
      const order = balancedOrder(VARIANTS, Math.floor(round / REPLICAS));
      const spent = { off: 0, memory: 0, redis: 0, control: 0 };
      for (const variant of order) spent[variant] = await run(variant, round % REPLICAS, requests);
      for (const variant of VARIANTS) {
        seconds[variant] += spent[variant];
        roundRatios[variant].push(spent[variant] / spent.off);
      }
    }
    const perRequest = (variant: Variant): number => (seconds[variant] * 1e6) / (requests * rounds);
    return {
      'limits.cpu_us_per_request.off': rounded(perRequest('off'), 1),
      'limits.cpu_us_per_request.memory': rounded(perRequest('memory'), 1),
      'limits.cpu_us_per_request.redis': rounded(perRequest('redis'), 1),
      'limits.cpu_ratio_memory_to_off': rounded(perRequest('memory') / perRequest('off'), 3),
      'limits.cpu_ratio_redis_to_off': rounded(perRequest('redis') / perRequest('off'), 3),
      // The run's noise: limits-off gateways against limits-off gateways (1.000 on a quiet machine).
      'limits.cpu_ratio_control_to_off': rounded(perRequest('control') / perRequest('off'), 3),
      // Medians of each round's ratio (the variants ran back to back in it): a host stop or a full
      // collection in one round moves them little, where it moves the totals above.
      'limits.median_round_ratio_memory_to_off': rounded(median(roundRatios.memory), 3),
      'limits.median_round_ratio_redis_to_off': rounded(median(roundRatios.redis), 3),
      'limits.median_round_ratio_control_to_off': rounded(median(roundRatios.control), 3),
      // The page faults are what a memory-hungry heap costs where faults are dear (src/cli/relaunch.ts).
      'limits.page_faults_per_request.off': rounded(faults.off / (requests * rounds), 4),
      'limits.page_faults_per_request.memory': rounded(faults.memory / (requests * rounds), 4),
      'limits.page_faults_per_request.redis': rounded(faults.redis / (requests * rounds), 4),
      'limits.page_faults_per_request.control': rounded(faults.control / (requests * rounds), 4),
      'limits.failed_requests': errors,
    };
  } finally {
    await closePools();
    await Promise.all(servers.map((server) => server.stop()));
    if (redis !== undefined) await dropKeys(redis.url, prefix);
    await redis?.stop();
  }
}

async function dropKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
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
