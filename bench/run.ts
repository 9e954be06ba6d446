// Compares the gateway with a bare reference proxy in front of the same fake upstream.
// Usage: npm run bench
// Env: BENCH_SCALE=0.1 for a quick run; BENCH_GATEWAY_CMD="bench/bare-proxy.ts" puts another node
// program in the gateway's slot; BENCH_CLIENT_KEY is the key sent to the gateway; BENCH_PIN=0 turns
// CPU pinning off; BENCH_PAIRS sets how many bare proxy and gateway processes share the CPU rounds.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { planPinning, pinThisProcess } from './cpu-pinning.ts';
import { STREAM_EVENTS, UPSTREAM_ANSWER } from './fake-upstream.ts';
import { closePools, type LoadResult, type Target } from './load.ts';
import { cpuClock } from './proc-cpu.ts';
import { ErrorTally, interleaved, measureCpu, roundRobin, type ProxyPair, type TargetName, type Targets } from './phases.ts';
import {
  checkTargets,
  flattenFigures,
  machineFacts,
  readPreviousReport,
  renderChanges,
  renderSuiteTargets,
  renderTables,
  writeReport,
  type BenchReport,
  type BenchResults,
  type TargetCheck,
} from './report.ts';
import { spawnServer, type RunningServer } from './spawn-server.ts';
import { selectedSuites, type Suite } from './suites.ts';
import { percentiles, type Percentiles } from './stats.ts';
import { warmupRequests } from './warmup.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsFile = path.join(repoRoot, 'bench/results/latest.json');
const timeCapMs = 175_000;
const suiteCapMs = 240_000;

const scale = Number(process.env['BENCH_SCALE'] ?? '1');
const scaled = (count: number): number => Math.max(10, Math.round(count * scale));
const settings = {
  /** Bare proxy + gateway process pairs the CPU rounds go to in turn (the first also serves the latency phases). */
  pairs: Math.max(1, Number(process.env['BENCH_PAIRS'] ?? '2')),
  warmupRequests: warmupRequests(scale),
  warmupStreams: scaled(2000),
  connections: 32,
  cpuRequests: scaled(3000),
  cpuRounds: 40,
  fixedRate: 5000,
  fixedRateRequests: scaled(3000),
  fixedRateRounds: 16,
  streamCpuRequests: scaled(1000),
  streamCpuRounds: 12,
  streamEventsPerRequest: STREAM_EVENTS,
  latency1Requests: scaled(8000),
  latency64Requests: scaled(10_000),
  streamFirstByteRequests: scaled(2000),
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

function makeTarget(name: string, origin: string): Target {
  const model = 'openai/gpt-4o-mini';
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

interface Running {
  readonly upstream: RunningServer;
  readonly pairs: ReadonlyArray<{ readonly bare: RunningServer; readonly gateway: RunningServer }>;
}

async function startServers(servers: RunningServer[]): Promise<Running> {
  const pinning = planPinning();
  if (pinning.drivers) pinThisProcess(pinning.drivers);
  progress(`CPU pinning: ${pinning.description}`);
  const start = async (name: string, args: string[], cpus: string | undefined, env = process.env) => {
    const server = await spawnServer(name, args, { cwd: repoRoot, env, ...(cpus ? { cpus } : {}) });
    servers.push(server);
    return server;
  };
  const upstream = await start('fake upstream', ['bench/fake-upstream.ts'], pinning.drivers);
  const gatewayEnv = {
    ...process.env,
    OPENAI_API_KEY: 'sk-bench-not-a-real-key',
    OPENAI_BASE_URL: `${upstream.origin}/v1`,
    LIGHTPORT_LOG_LEVEL: 'warn',
  };
  const pairs = await Promise.all(
    Array.from({ length: settings.pairs }, async (_, index) => {
      const [bare, gateway] = await Promise.all([
        start(`bare proxy ${index + 1}`, ['bench/bare-proxy.ts', '--upstream', upstream.origin], pinning.proxies),
        start(`gateway ${index + 1}`, gatewayArgs(), pinning.proxies, gatewayEnv),
      ]);
      return { bare, gateway };
    }),
  );
  const first = pairs[0] as Running['pairs'][number];
  progress(
    `upstream ${upstream.origin}; ${pairs.length} pair(s) of bare proxy and gateway, the first at ${first.bare.origin} and ${first.gateway.origin} (pid ${first.gateway.pid})`,
  );
  return { upstream, pairs };
}

function percentilesOf(results: Record<TargetName, LoadResult>, which: 'latencyUs' | 'firstByteUs'): Record<TargetName, Percentiles> {
  return {
    direct: percentiles(results.direct[which]),
    bare: percentiles(results.bare[which]),
    gateway: percentiles(results.gateway[which]),
  };
}

async function bench(servers: RunningServer[]): Promise<BenchResults> {
  const running = await startServers(servers);
  const pairs: ProxyPair[] = running.pairs.map(({ bare, gateway }, index) => {
    const suffix = index === 0 ? '' : `-${index + 1}`;
    return {
      targets: {
        direct: makeTarget('direct', running.upstream.origin),
        bare: makeTarget(`bare${suffix}`, bare.origin),
        gateway: makeTarget(`gateway${suffix}`, gateway.origin),
      },
      pids: { bare: bare.pid, gateway: gateway.pid },
    };
  });
  const targets: Targets = (pairs[0] as ProxyPair).targets;
  const tally = new ErrorTally(progress);
  const closed = { connections: settings.connections };
  for (const [index, pair] of pairs.entries()) await sanityCheck(pair.targets, (running.pairs[index] as Running['pairs'][number]).gateway);

  progress(`warm-up: ${settings.warmupRequests} requests and ${settings.warmupStreams} streams per target, ${pairs.length} pair(s)`);
  for (const pair of pairs) {
    await interleaved(pair.targets, 'plain', settings.warmupRequests, 2, closed, tally);
    await interleaved(pair.targets, 'stream', settings.warmupStreams, 1, closed, tally);
    await interleaved(pair.targets, 'plain', 500, 1, { connections: 64 }, tally);
    await interleaved(pair.targets, 'plain', 200, 1, { connections: 1 }, tally);
  }

  progress(`CPU per request: ${settings.cpuRounds} rounds × ${settings.cpuRequests} requests, ${settings.connections} connections`);
  const cpu = await measureCpu(
    pairs,
    { kind: 'plain', requests: settings.cpuRequests, rounds: settings.cpuRounds, shape: closed, unitsPerRequest: 1 },
    tally,
  );

  progress(`CPU per request at ${settings.fixedRate} req/s: ${settings.fixedRateRounds} rounds × ${settings.fixedRateRequests}`);
  const cpuAtFixedRate = await measureCpu(
    pairs,
    {
      kind: 'plain',
      requests: settings.fixedRateRequests,
      rounds: settings.fixedRateRounds,
      shape: { ...closed, ratePerSecond: settings.fixedRate },
      unitsPerRequest: 1,
    },
    tally,
  );

  progress(`streaming CPU: ${settings.streamCpuRounds} rounds × ${settings.streamCpuRequests} streams`);
  const streamCpuPerChunk = await measureCpu(
    pairs,
    {
      kind: 'stream',
      requests: settings.streamCpuRequests,
      rounds: settings.streamCpuRounds,
      shape: closed,
      unitsPerRequest: STREAM_EVENTS,
    },
    tally,
  );

  progress(`latency at 1 connection: ${settings.latency1Requests} requests per target`);
  const latency1 = await roundRobin(targets, 'plain', settings.latency1Requests, tally);

  progress(`latency at 64 connections: ${settings.latency64Requests} requests per target`);
  const latency64 = await interleaved(targets, 'plain', settings.latency64Requests, 5, { connections: 64 }, tally);

  progress(`streaming first byte at 1 connection: ${settings.streamFirstByteRequests} streams per target`);
  const firstByte = await roundRobin(targets, 'stream', settings.streamFirstByteRequests, tally);

  return {
    cpu,
    cpuAtFixedRate,
    streamCpuPerChunk,
    latency1: percentilesOf(latency1, 'latencyUs'),
    latency64: percentilesOf(latency64, 'latencyUs'),
    streamFirstByte: percentilesOf(firstByte, 'firstByteUs'),
    errors: { ...tally.counts },
  };
}

/** Runs each selected feature suite and returns its figures (prefixed) and target checks. */
async function runSuites(suites: readonly Suite[]): Promise<{ figures: Record<string, number>; targets: TargetCheck[] }> {
  const figures: Record<string, number> = {};
  const targets: TargetCheck[] = [];
  for (const suite of suites) {
    progress(`suite ${suite.name}`);
    const measured = await suite.run();
    for (const [name, value] of Object.entries(measured)) figures[`${suite.name}:${name}`] = Math.round(value * 1000) / 1000;
    for (const target of suite.targets) {
      const value = measured[target.figure] ?? Number.NaN;
      targets.push({
        name: target.name,
        figure: `${suite.name}:${target.figure}`,
        value,
        limit: target.limit,
        pass: value <= target.limit,
      });
    }
  }
  return { figures, targets };
}

async function main(): Promise<void> {
  const servers: RunningServer[] = [];
  const selection = selectedSuites();
  const cap = setTimeout(
    () => {
      progress(`time cap of ${timeCapMs / 1000}s reached, stopping`);
      process.exit(1); // spawn-server kills the children on exit
    },
    timeCapMs + selection.suites.reduce((total, suite) => total + (suite.capMs ?? suiteCapMs), 0),
  );
  process.once('SIGINT', () => process.exit(130));
  try {
    let figures: Record<string, number> = {};
    let targets: TargetCheck[] = [];
    if (selection.core) {
      const results = await bench(servers);
      figures = flattenFigures(results);
      targets = checkTargets(figures);
      console.log(renderTables(results, settings, targets));
      await Promise.all(servers.splice(0).map((server) => server.stop()));
    }
    const suites = await runSuites(selection.suites);
    Object.assign(figures, suites.figures);
    targets.push(...suites.targets);
    if (suites.targets.length > 0) console.log(renderSuiteTargets(suites.figures, suites.targets));
    const report: BenchReport = {
      machine: machineFacts(),
      settings: {
        ...settings,
        scale,
        gatewayCommand: gatewayArgs().join(' '),
        cpuPinning: planPinning().description,
        cpuClock,
        suites: [selection.core ? 'core' : '', ...selection.suites.map((suite) => suite.name)].filter(Boolean).join(','),
      },
      figures,
      targets,
      pass: targets.every((t) => t.pass),
    };
    const previous = readPreviousReport(resultsFile);
    if (previous) console.log(renderChanges(previous, figures));
    writeReport(resultsFile, report);
    const verdict = report.pass ? 'all targets met' : 'TARGETS MISSED';
    console.log(`\nwrote ${path.relative(repoRoot, resultsFile)} (${verdict}) in ${((Date.now() - startedAt) / 1000).toFixed(0)}s`);
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
