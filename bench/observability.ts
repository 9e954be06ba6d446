// What observability costs: CPU per request of the gateway with metrics + access log + SQLite
// request-log store on, and with bodies logged too, each divided by the same gateway with all of
// them off, measured in one run against one fake upstream.
// Usage: node bench/observability.ts   (BENCH_SCALE=0.1 for a quick run). Build first (npm run build).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { balancedOrder } from './balanced-order.ts';
import { planPinning, pinThisProcess } from './cpu-pinning.ts';
import { processTreeCpuSeconds } from './proc-cpu.ts';
import { spawnServer, type RunningServer } from './spawn-server.ts';
import { warmupRequests } from './warmup.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scale = Number(process.env['BENCH_SCALE'] ?? '1');
const scaled = (count: number): number => Math.max(10, Math.round(count * scale));
// 36 rounds: three whole cycles of the six orders of the variants on each of the two replicas.
const settings = { warmupRequests: warmupRequests(scale), cpuRequests: scaled(2000), rounds: 36, connections: 32 };
const WARMUP_PASSES = 5;
/** Gateway processes per variant. */
const REPLICAS = Math.max(1, Number(process.env['BENCH_PAIRS'] ?? '2'));

type Variant = 'off' | 'on' | 'bodies_all';
const VARIANTS: readonly Variant[] = ['off', 'on', 'bodies_all'];

function configFor(variant: Variant, directory: string, replica: number): string {
  const provider = `providers:\n  openai: { type: openai, api_key: sk-bench-not-a-real-key, base_url: "\${OPENAI_BASE_URL}" }\n`;
  if (variant === 'off') return `logging: { level: warn }\nmetrics: { enabled: false }\n${provider}`;
  const bodies = variant === 'bodies_all' ? 'all' : 'off';
  return `logging: { level: info, bodies: ${bodies} }
metrics: { enabled: true }
request_log: { sqlite_path: "${path.join(directory, `${variant}-${replica}.db`)}" }
${provider}`;
}

const BODY = JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }] });
const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench-client' };

/** Closed loop: `connections` requests in flight until `requests` are done; throws on any non-200. */
async function load(pool: Pool, requests: number, connections: number): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < requests) {
      started++;
      const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: HEADERS, body: BODY });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

const roundTo = (value: number, digits: number): number => Number(value.toFixed(digits));

/** request_log.flush_ms's default: records short of a batch wait this long. */
const STORE_FLUSH_MS = 1000;
const QUIET_STEP_MS = 20;
const QUIET_LONGEST_MS = 1000;

/** Waits until the process has been (nearly) idle for a step: under 2% of a core. */
async function quiesce(pid: number): Promise<void> {
  let last = processTreeCpuSeconds(pid);
  for (let waited = 0; waited < QUIET_LONGEST_MS; waited += QUIET_STEP_MS) {
    await sleep(QUIET_STEP_MS);
    const now = processTreeCpuSeconds(pid);
    if (now - last < (QUIET_STEP_MS / 1000) * 0.02) return;
    last = now;
  }
}

async function startServers(servers: RunningServer[]): Promise<Record<Variant, RunningServer[]>> {
  const pinning = planPinning();
  if (pinning.drivers) pinThisProcess(pinning.drivers);
  const upstream = await spawnServer('fake upstream', ['bench/fake-upstream.ts'], {
    cwd: repoRoot,
    ...(pinning.drivers ? { cpus: pinning.drivers } : {}),
  });
  servers.push(upstream);
  const directory = mkdtempSync(path.join(tmpdir(), 'lightport-bench-obs-'));
  const { LIGHTPORT_LOG_LEVEL: _ignored, ...inherited } = process.env;
  const env = { ...inherited, OPENAI_BASE_URL: `${upstream.origin}/v1` };
  const gateways = await Promise.all(
    VARIANTS.map(async (variant) => {
      const replicas = await Promise.all(
        Array.from({ length: REPLICAS }, async (_, replica) => {
          const file = path.join(directory, `${variant}-${replica}.yaml`);
          writeFileSync(file, configFor(variant, directory, replica));
          const server = await spawnServer(
            `gateway (${variant} ${replica + 1})`,
            ['bin/lightport.js', 'start', '--config', file, '--port', '0'],
            { cwd: repoRoot, env, ...(pinning.proxies ? { cpus: pinning.proxies } : {}) },
          );
          servers.push(server);
          return server;
        }),
      );
      return [variant, replicas] as const;
    }),
  );
  return Object.fromEntries(gateways) as Record<Variant, RunningServer[]>;
}

/** Runs the observability benchmark and returns its figures (CPU µs per request and ratios to "off"). */
export async function runObservabilityBench(): Promise<Record<string, number>> {
  const servers: RunningServer[] = [];
  const pools: Pool[] = [];
  try {
    const gateways = await startServers(servers);
    const all = VARIANTS.flatMap((variant) => gateways[variant].map((server, replica) => ({ variant, replica, server })));
    const poolOf = new Map(
      all.map(({ server }) => {
        const pool = new Pool(server.origin, { connections: settings.connections, pipelining: 1 });
        pools.push(pool);
        return [server, pool] as const;
      }),
    );
    const poolFor = (server: RunningServer): Pool => poolOf.get(server) as Pool;
    // Warm-up in passes over every gateway, so that none sits idle for long before its first round.
    for (let pass = 0; pass < WARMUP_PASSES; pass++) {
      for (let replica = 0; replica < REPLICAS; replica++) {
        for (const variant of balancedOrder(VARIANTS, pass + replica)) {
          await load(
            poolFor(gateways[variant][replica] as RunningServer),
            Math.ceil(settings.warmupRequests / WARMUP_PASSES),
            settings.connections,
          );
        }
      }
    }
    // Many short rounds in balanced order (bench/balanced-order.ts, as the limits bench does): on a shared machine CPU per
    // request drifts from second to second, and a few long rounds leave the figure to whichever
    // variant ran during a slow spell; the rounds go to two processes per variant in turn, since
    // two processes running the same code differ by a few percent for as long as they live. Each
    // gateway's CPU is taken over the whole run, from before its first round to after its store's
    // last flush, so work done after a round (the access log's batch, the store's inserts) counts
    // for the gateway that owes it; and each round ends only once that work is done, so it never
    // runs on the shared core during the next variant's round.
    const startSeconds = new Map(all.map(({ server }) => [server, processTreeCpuSeconds(server.pid)]));
    for (let round = 0; round < settings.rounds; round++) {
      const order = balancedOrder(VARIANTS, Math.floor(round / REPLICAS));
      for (const variant of order) {
        const server = gateways[variant][round % REPLICAS] as RunningServer;
        await load(poolFor(server), settings.cpuRequests, settings.connections);
        await quiesce(server.pid);
      }
    }
    await sleep(STORE_FLUSH_MS + 500);
    const seconds: Record<Variant, number> = { off: 0, on: 0, bodies_all: 0 };
    for (const { variant, server } of all) {
      await quiesce(server.pid);
      seconds[variant] += processTreeCpuSeconds(server.pid) - (startSeconds.get(server) ?? 0);
    }
    for (const server of gateways.on) await checkRecorded(server);
    const cpu = Object.fromEntries(
      VARIANTS.map((variant) => [variant, (seconds[variant] * 1e6) / (settings.cpuRequests * settings.rounds)]),
    ) as Record<Variant, number>;
    return {
      'observability.cpu_us_per_request.off': roundTo(cpu.off, 1),
      'observability.cpu_us_per_request.on': roundTo(cpu.on, 1),
      'observability.cpu_us_per_request.bodies_all': roundTo(cpu.bodies_all, 1),
      'observability.cpu_ratio_on_to_off': roundTo(cpu.on / cpu.off, 3),
      'observability.cpu_ratio_bodies_all_to_off': roundTo(cpu.bodies_all / cpu.off, 3),
    };
  } finally {
    await Promise.allSettled(pools.map((pool) => pool.close()));
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/** The "on" gateway really did the work measured: metrics scraped, records written to SQLite. */
async function checkRecorded(gateway: RunningServer): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const text = await (await fetch(`${gateway.origin}/metrics`)).text();
  const written = Number(/^lightport_request_log_written_total (\d+)/m.exec(text)?.[1] ?? 0);
  if (written === 0) throw new Error(`the "on" gateway wrote no request records:\n${gateway.recentOutput()}`);
}

if (import.meta.main) {
  const figures = await runObservabilityBench();
  for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(50)} ${value}`);
  const ratio = figures['observability.cpu_ratio_on_to_off'] ?? Number.NaN;
  console.log(`\ntarget: metrics + access log + SQLite store ÷ all off ≤ 1.10: ${ratio <= 1.1 ? 'met' : 'MISSED'} (${ratio})`);
}
