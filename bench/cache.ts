// Response cache benchmark: an exact hit's CPU per request against the bare proxy's,
// semantic lookup latency at 10k and 100k entries, and hit / false-hit rates on a
// replayed workload (bench/cache-workload.ts).
// Usage: node bench/cache.ts   (BENCH_SCALE=0.2 for a quick run)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { SemanticCache } from '../src/cache/semantic/semantic-cache.ts';
import { createLogger } from '../src/observability/logger.ts';
import { cacheWorkload } from './cache-workload.ts';
import { planPinning, pinThisProcess } from './cpu-pinning.ts';
import { processTreeCpuSeconds } from './proc-cpu.ts';
import { spawnServer, type RunningServer } from './spawn-server.ts';
import { percentile } from './stats.ts';
import { warmupRequests } from './warmup.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scale = Number(process.env['BENCH_SCALE'] ?? '1');
const CONCURRENCY = 8;
const WARMUP_PASSES = 5;

const gatewayConfig = (upstream: string): string => `
logging: { level: warn }
providers:
  openai: { type: openai, api_key: sk-bench, base_url: "${upstream}/v1" }
  echo: { type: mock }
models:
  cached: { provider: openai, model: gpt-4o-mini }
  echo: { provider: echo, model: echo-1 }
cache:
  enabled: true
  models:
    echo: { mode: semantic }
`;

async function post(pool: Pool, body: string): Promise<{ status: number; cache: string; text: string }> {
  const response = await pool.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await response.body.text();
  return { status: response.statusCode, cache: String(response.headers['x-lightport-cache'] ?? ''), text };
}

/** Sends `requests` copies of one request over a pool, CONCURRENCY at a time. */
async function send(server: RunningServer, pool: Pool, body: string, requests: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < requests) {
        const { status, text } = await post(pool, body);
        if (status !== 200) throw new Error(`${server.name}: HTTP ${status} ${text.slice(0, 200)}`);
      }
    }),
  );
}

/**
 * CPU seconds per request each server's process tree spends on copies of its request: all
 * warmed up first (bench/warmup.ts), then measured in rotating rounds so that machine noise lands
 * on all alike; twelve rounds, so that each of the four servers goes first equally often.
 */
async function cpuPerRequest(
  servers: readonly { readonly server: RunningServer; readonly body: string }[],
  options: { readonly warmup: number; readonly requests: number; readonly rounds: number },
): Promise<number[]> {
  const pools = servers.map(({ server }) => new Pool(server.origin, { connections: CONCURRENCY }));
  const spent = servers.map(() => 0);
  try {
    // Warm-up in passes over every server, so that none sits idle for long before its first round.
    for (let pass = 0; pass < WARMUP_PASSES; pass++) {
      for (let step = 0; step < servers.length; step++) {
        const index = (pass + step) % servers.length;
        const { server, body } = servers[index] as { server: RunningServer; body: string };
        await send(server, pools[index] as Pool, body, Math.ceil(options.warmup / WARMUP_PASSES));
      }
    }
    for (let round = 0; round < options.rounds; round++) {
      for (let step = 0; step < servers.length; step++) {
        const index = (round + step) % servers.length;
        const { server, body } = servers[index] as { server: RunningServer; body: string };
        const before = processTreeCpuSeconds(server.pid);
        await send(server, pools[index] as Pool, body, options.requests);
        spent[index] = (spent[index] ?? 0) + processTreeCpuSeconds(server.pid) - before;
      }
    }
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
  return spent.map((seconds) => seconds / (options.requests * options.rounds));
}

async function semanticLookupMs(entries: number, lookups: number): Promise<{ p50: number; p99: number }> {
  const cache = new SemanticCache({ storePath: undefined, redis: undefined, logger: createLogger('silent') });
  const partition = 'bench';
  const address = { namespace: 'bench', model: 'bench', key: 'k' };
  const answer = { body: '{}', expiresAt: Date.now() + 3_600_000 };
  for (let index = 0; index < entries; index++) {
    cache.add({ partition, text: `Question number ${index} about topic ${index % 97} and item ${index % 13}` }, address, answer);
  }
  const policy = { threshold: 0.8, guards: ['numbers', 'negation', 'entities', 'content_words'] as const };
  const samples = new Float64Array(lookups);
  for (let index = 0; index < lookups; index++) {
    const text = `question number ${(index * 7919) % entries} about topic ${index % 97} and item ${index % 13}`;
    const started = performance.now();
    await cache.find({ partition, text }, { ...policy, guards: [...policy.guards] } as Parameters<SemanticCache['find']>[1]);
    samples[index] = performance.now() - started;
  }
  await cache.close();
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function replayWorkload(gateway: RunningServer): Promise<{ hitRate: number; falseHitRate: number; distinctFalseHits: number }> {
  const pool = new Pool(gateway.origin, { connections: 1 });
  const intentOf = new Map<string, string>();
  let hits = 0;
  let falseHits = 0;
  let distinctFalseHits = 0;
  const prompts = cacheWorkload();
  for (const prompt of prompts) {
    intentOf.set(prompt.text, prompt.intent);
    const body = JSON.stringify({ model: 'echo', temperature: 0, messages: [{ role: 'user', content: prompt.text }] });
    const { cache, text } = await post(pool, body);
    if (!cache.startsWith('hit')) continue;
    hits++;
    // The echo model answers with the question it was asked: the cached question.
    const answered = (JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? '';
    if (intentOf.get(answered) !== prompt.intent) {
      falseHits++;
      if (prompt.kind === 'distinct_similar') distinctFalseHits++;
    }
  }
  await pool.close();
  return { hitRate: hits / prompts.length, falseHitRate: hits === 0 ? 0 : falseHits / hits, distinctFalseHits };
}

export async function runCacheBench(): Promise<Record<string, number>> {
  const directory = mkdtempSync(path.join(tmpdir(), 'lightport-bench-cache-'));
  const servers: RunningServer[] = [];
  try {
    // The same cores as the core benchmark: the proxies on their own, the upstream and this load generator on the rest.
    const pinning = planPinning();
    if (pinning.drivers) pinThisProcess(pinning.drivers);
    const onCpus = (cpus: string | undefined) => (cpus === undefined ? {} : { cpus });
    const upstream = await spawnServer('fake upstream', ['bench/fake-upstream.ts'], { cwd: repoRoot, ...onCpus(pinning.drivers) });
    servers.push(upstream);
    const configFile = path.join(directory, 'lightport.yaml');
    writeFileSync(configFile, gatewayConfig(upstream.origin));
    // Two of each: two processes running the same code differ by a few percent for as long as they live.
    const pairs = await Promise.all(
      [1, 2].map(async (number) => {
        const bare = await spawnServer(`bare proxy ${number}`, ['bench/bare-proxy.ts', '--upstream', upstream.origin], {
          cwd: repoRoot,
          ...onCpus(pinning.proxies),
        });
        servers.push(bare);
        const gateway = await spawnServer(`gateway ${number}`, ['bin/lightport.js', 'start', '--config', configFile, '--port', '0'], {
          cwd: repoRoot,
          ...onCpus(pinning.proxies),
          env: { PATH: process.env['PATH'] ?? '' },
        });
        servers.push(gateway);
        return { bare, gateway };
      }),
    );
    const body = (model: string) => JSON.stringify({ model, temperature: 0, messages: [{ role: 'user', content: 'Hello, cache.' }] });
    const perRequest = await cpuPerRequest(
      pairs.flatMap(({ bare, gateway }) => [
        { server: gateway, body: body('cached') },
        { server: bare, body: body('gpt-4o-mini') },
      ]),
      { warmup: warmupRequests(scale), requests: Math.max(200, Math.round(2000 * scale)), rounds: 12 },
    );
    const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
    const hitCpu = mean(perRequest.filter((_, index) => index % 2 === 0));
    const bareCpu = mean(perRequest.filter((_, index) => index % 2 === 1));
    const gateway = (pairs[0] as (typeof pairs)[number]).gateway;
    const workload = await replayWorkload(gateway);
    const lookups = Math.max(200, Math.round(1000 * scale));
    const small = await semanticLookupMs(10_000, lookups);
    const large = await semanticLookupMs(100_000, Math.max(50, Math.round(lookups / 5)));
    const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;
    return {
      cache_exact_hit_cpu_us: round(hitCpu * 1e6, 1),
      bare_proxy_cpu_us: round(bareCpu * 1e6, 1),
      cache_exact_hit_cpu_ratio: round(hitCpu / bareCpu),
      cache_semantic_lookup_10k_ms_p50: round(small.p50),
      cache_semantic_lookup_10k_ms_p99: round(small.p99),
      cache_semantic_lookup_100k_ms_p50: round(large.p50),
      cache_semantic_lookup_100k_ms_p99: round(large.p99),
      cache_workload_hit_rate: round(workload.hitRate),
      cache_workload_false_hit_rate: round(workload.falseHitRate),
      cache_workload_distinct_similar_false_hits: workload.distinctFalseHits,
    };
  } finally {
    for (const server of servers.toReversed()) await server.stop();
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const figures = await runCacheBench();
  for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(46)} ${value}`);
}
