// Compares the gateway with a bare reference proxy in front of the same fake upstream.
// Usage: npm run bench   (env: BENCH_SCALE=0.1 for a quick run, BENCH_GATEWAY_CMD="bench/bare-proxy.ts" to
// put another node program in the gateway's slot, BENCH_CLIENT_KEY for the key sent to the gateway)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { STREAM_EVENTS, UPSTREAM_ANSWER } from './fake-upstream.ts';
import { closePools, median, mergeResults, percentile, runLoad, type LoadResult, type RequestKind, type Target } from './load.ts';
import { planPinning, pinThisProcess } from './cpu-pinning.ts';
import { processTreeCpuSeconds } from './proc-cpu.ts';
import {
  checkTargets,
  flattenFigures,
  machineFacts,
  readPreviousReport,
  renderChanges,
  renderTables,
  writeReport,
  type BenchReport,
  type BenchResults,
  type Percentiles,
  type ProxyName,
  type TargetName,
} from './report.ts';
import { spawnServer, type RunningServer } from './spawn-server.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsFile = path.join(repoRoot, 'bench/results/latest.json');
const timeCapMs = 175_000;

const scale = Number(process.env['BENCH_SCALE'] ?? '1');
const scaled = (count: number): number => Math.max(10, Math.round(count * scale));
const settings = {
  warmupRequests: scaled(5000),
  warmupStreams: scaled(500),
  cpuRequests: scaled(20_000),
  cpuConnections: 32,
  cpuRounds: 5,
  latency1Requests: scaled(5000),
  latency64Requests: scaled(10_000),
  streamFirstByteRequests: scaled(2000),
  streamCpuRequests: scaled(4000),
  streamEventsPerRequest: STREAM_EVENTS,
};

const startedAt = Date.now();
function progress(message: string): void {
  process.stderr.write(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${message}\n`);
}

function gatewayArgs(): string[] {
  const override = process.env['BENCH_GATEWAY_CMD'];
  if (!override) return ['bin/lightport.js', 'start', '--config', 'examples/lightport.yaml', '--port', '0'];
  const args = override.trim().split(/\s+/);
  return args[0] === 'node' ? args.slice(1) : args;
}

function makeTarget(name: TargetName, origin: string, model: string): Target {
  const messages = [{ role: 'user', content: 'Say hello in one short sentence.' }];
  return {
    name,
    origin,
    path: '/v1/chat/completions',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${process.env['BENCH_CLIENT_KEY'] ?? 'sk-bench-client'}`,
    },
    bodies: {
      plain: JSON.stringify({ model, messages }),
      stream: JSON.stringify({ model, messages, stream: true, stream_options: { include_usage: true } }),
    },
  };
}

const errorCounts: Record<TargetName, number> = { direct: 0, bare: 0, gateway: 0 };
function tally(name: TargetName, result: LoadResult): LoadResult {
  if (result.errors > 0 && errorCounts[name] === 0) progress(`first error: ${result.firstError}`);
  errorCounts[name] += result.errors;
  return result;
}

function percentiles(samples: Float64Array): Percentiles {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

type Targets = Record<TargetName, Target>;

/** Runs the same load on every target in rotating order, in blocks, so drift in machine noise hits all alike. */
async function interleaved(
  targets: Targets,
  kind: RequestKind,
  perTarget: number,
  blocks: number,
  connections: number,
): Promise<Record<TargetName, LoadResult>> {
  const names = Object.keys(targets) as TargetName[];
  const parts: Record<TargetName, LoadResult[]> = { direct: [], bare: [], gateway: [] };
  for (let block = 0; block < blocks; block++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(block + i) % names.length] as TargetName;
      parts[name].push(tally(name, await runLoad(targets[name], kind, Math.ceil(perTarget / blocks), connections)));
    }
  }
  return { direct: mergeResults(parts.direct), bare: mergeResults(parts.bare), gateway: mergeResults(parts.gateway) };
}

interface CpuMeasurement {
  perRequestUs: Record<ProxyName, number[]>;
  requestsPerSecond: Record<ProxyName, number[]>;
}

/** CPU the proxy process spends over a fixed number of requests, alternating which proxy goes first. */
async function measureCpu(targets: Targets, pids: Record<ProxyName, number>, kind: RequestKind, requests: number): Promise<CpuMeasurement> {
  const out: CpuMeasurement = { perRequestUs: { bare: [], gateway: [] }, requestsPerSecond: { bare: [], gateway: [] } };
  for (let round = 0; round < settings.cpuRounds; round++) {
    const order: ProxyName[] = round % 2 === 0 ? ['bare', 'gateway'] : ['gateway', 'bare'];
    for (const proxy of order) {
      const before = processTreeCpuSeconds(pids[proxy]);
      const result = tally(proxy, await runLoad(targets[proxy], kind, requests, settings.cpuConnections));
      const cpuSeconds = processTreeCpuSeconds(pids[proxy]) - before;
      out.perRequestUs[proxy].push((cpuSeconds * 1e6) / requests);
      out.requestsPerSecond[proxy].push(requests / (result.elapsedMs / 1000));
    }
  }
  return out;
}

/** One plain and one streamed request per target, checked for the fake upstream's answer. */
async function sanityCheck(targets: Targets, gateway: RunningServer): Promise<void> {
  for (const target of Object.values(targets)) {
    for (const kind of ['plain', 'stream'] as const) {
      const response = await request(`${target.origin}${target.path}`, {
        method: 'POST',
        headers: target.headers,
        body: target.bodies[kind],
      });
      const text = await response.body.text();
      const events = text.split('\n\n').filter((event) => event.startsWith('data:')).length;
      const ok =
        response.statusCode === 200 &&
        (kind === 'plain' ? text.includes(UPSTREAM_ANSWER) : events === STREAM_EVENTS + 1 && text.includes('[DONE]'));
      if (!ok) {
        throw new Error(
          `sanity check failed for ${target.name} (${kind}): HTTP ${response.statusCode}, ${events} SSE events\n` +
            `${text.slice(0, 1000)}\ngateway output:\n${gateway.recentOutput()}`,
        );
      }
    }
  }
}

async function bench(servers: RunningServer[]): Promise<BenchResults> {
  const pinning = planPinning();
  if (pinning.drivers) pinThisProcess(pinning.drivers);
  progress(`CPU pinning: ${pinning.description}`);
  const start = async (name: string, args: string[], cpus: string | undefined, env?: NodeJS.ProcessEnv): Promise<RunningServer> => {
    const server = await spawnServer(name, args, { cwd: repoRoot, ...(env ? { env } : {}), ...(cpus ? { cpus } : {}) });
    servers.push(server);
    return server;
  };
  const upstream = await start('fake upstream', ['bench/fake-upstream.ts'], pinning.drivers);
  const [bare, gateway] = await Promise.all([
    start('bare proxy', ['bench/bare-proxy.ts', '--upstream', upstream.origin], pinning.proxies),
    start('gateway', gatewayArgs(), pinning.proxies, {
      ...process.env,
      OPENAI_API_KEY: 'sk-bench-not-a-real-key',
      OPENAI_BASE_URL: `${upstream.origin}/v1`,
      LIGHTPORT_LOG_LEVEL: 'warn',
    }),
  ]);
  progress(`upstream ${upstream.origin}, bare proxy ${bare.origin}, gateway ${gateway.origin} (pid ${gateway.pid})`);

  const targets: Targets = {
    direct: makeTarget('direct', upstream.origin, 'openai/gpt-4o-mini'),
    bare: makeTarget('bare', bare.origin, 'openai/gpt-4o-mini'),
    gateway: makeTarget('gateway', gateway.origin, 'openai/gpt-4o-mini'),
  };
  const pids: Record<ProxyName, number> = { bare: bare.pid, gateway: gateway.pid };
  await sanityCheck(targets, gateway);

  progress('warm-up');
  await interleaved(targets, 'plain', settings.warmupRequests, 1, settings.cpuConnections);
  await interleaved(targets, 'stream', settings.warmupStreams, 1, settings.cpuConnections);
  await interleaved(targets, 'plain', 200, 1, 64);
  await interleaved(targets, 'plain', 100, 1, 1);

  progress(`CPU per request: ${settings.cpuRounds} rounds × ${settings.cpuRequests} requests per proxy`);
  const cpu = await measureCpu(targets, pids, 'plain', settings.cpuRequests);

  progress(`latency at 1 connection: ${settings.latency1Requests} requests per target`);
  const latency1 = await interleaved(targets, 'plain', settings.latency1Requests, 3, 1);

  progress(`latency at 64 connections: ${settings.latency64Requests} requests per target`);
  const latency64 = await interleaved(targets, 'plain', settings.latency64Requests, 2, 64);

  progress(`streaming first byte at 1 connection: ${settings.streamFirstByteRequests} streams per target`);
  const firstByte = await interleaved(targets, 'stream', settings.streamFirstByteRequests, 2, 1);

  progress(`streaming CPU: ${settings.cpuRounds} rounds × ${settings.streamCpuRequests} streams per proxy`);
  const streamCpu = await measureCpu(targets, pids, 'stream', settings.streamCpuRequests);

  const perChunk = (proxy: ProxyName): number => median(streamCpu.perRequestUs[proxy]) / STREAM_EVENTS;
  return {
    cpuPerRequestUs: { bare: median(cpu.perRequestUs.bare), gateway: median(cpu.perRequestUs.gateway) },
    cpuSamplesUs: cpu.perRequestUs,
    throughputRps: { bare: median(cpu.requestsPerSecond.bare), gateway: median(cpu.requestsPerSecond.gateway) },
    latency1: {
      direct: percentiles(latency1.direct.latencyUs),
      bare: percentiles(latency1.bare.latencyUs),
      gateway: percentiles(latency1.gateway.latencyUs),
    },
    latency64: {
      direct: percentiles(latency64.direct.latencyUs),
      bare: percentiles(latency64.bare.latencyUs),
      gateway: percentiles(latency64.gateway.latencyUs),
    },
    streamFirstByte: {
      direct: percentiles(firstByte.direct.firstByteUs),
      bare: percentiles(firstByte.bare.firstByteUs),
      gateway: percentiles(firstByte.gateway.firstByteUs),
    },
    streamCpuPerChunkUs: { bare: perChunk('bare'), gateway: perChunk('gateway') },
    errors: { ...errorCounts },
  };
}

async function main(): Promise<void> {
  const servers: RunningServer[] = [];
  const cap = setTimeout(() => {
    progress(`time cap of ${timeCapMs / 1000}s reached, stopping`);
    process.exit(1); // spawn-server kills the children on exit
  }, timeCapMs);
  process.once('SIGINT', () => process.exit(130));
  try {
    const results = await bench(servers);
    const figures = flattenFigures(results);
    const targets = checkTargets(figures);
    const report: BenchReport = {
      machine: machineFacts(),
      settings: { ...settings, scale, gatewayCommand: gatewayArgs().join(' ') },
      figures,
      targets,
      pass: targets.every((t) => t.pass),
    };
    console.log(renderTables(results, targets));
    const previous = readPreviousReport(resultsFile);
    if (previous) console.log(renderChanges(previous, figures));
    writeReport(resultsFile, report);
    console.log(`\nwrote ${path.relative(repoRoot, resultsFile)} (${report.pass ? 'all targets met' : 'TARGETS MISSED'})`);
  } finally {
    clearTimeout(cap);
    await closePools();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
