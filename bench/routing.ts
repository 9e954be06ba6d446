// Routing benchmark: what rules, fallbacks and open circuits cost. Runs its own fake
// upstreams and gateways. Usage: node bench/routing.ts   (BENCH_SCALE=0.2 for a quick run)
import { writeFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { planPinning, pinThisProcess } from './cpu-pinning.ts';
import { processTreeCpuSeconds } from './proc-cpu.ts';
import { gatewayConfig, type RoutingUpstreams } from './routing-config.ts';
import { closeRoutingPools, runRequests, type ModelTarget, type Run } from './routing-load.ts';
import { spawnServer, type RunningServer } from './spawn-server.ts';
import { warmupRequests } from './warmup.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scale = Number(process.env['BENCH_SCALE'] ?? '1');
const scaled = (count: number): number => Math.max(50, Math.round(count * scale));

/** Rounds of the rule-cost comparison; paired rounds cancel the machine's drift, more of them its noise. */
const RULE_COST_ROUNDS = 48;

const METADATA = JSON.stringify({ plan: 'enterprise', region: 'eu-west', tenant: 'acme-corp' });

function target(origin: string, model: string): ModelTarget {
  return {
    origin,
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello in one short sentence.' }] }),
    headers: { 'content-type': 'application/json', 'x-lightport-metadata': METADATA, 'x-lightport-tags': 'alpha,beta' },
  };
}

function median(values: readonly number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function medianUs(run: Run): number {
  return median(run.latencyUs);
}

function check(run: Run): Run {
  if (run.failures > 0) throw new Error(`${run.failures} failed requests: ${run.firstFailure}`);
  return run;
}

/** A loopback port nothing listens on: connections to it are refused. */
async function refusingOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** CPU per request of the ruled model ÷ the single-target model: many short alternating rounds, median of their ratios. */
async function ruleCost(gateway: RunningServer, requests: number): Promise<Record<string, number>> {
  const single = target(gateway.origin, 'single');
  const ruled = target(gateway.origin, 'ruled');
  // Warmed up like every CPU comparison (bench/warmup.ts), in passes over both models: with only a
  // few thousand requests the gateway is still compiling, more so on the path with more code.
  const passes = 5;
  const warmup = Math.ceil(warmupRequests(scale) / passes);
  for (let pass = 0; pass < passes; pass++) for (const warm of [single, ruled]) check(await runRequests(warm, warmup, 32));
  const perRequest: Record<'single' | 'ruled', number[]> = { single: [], ruled: [] };
  for (let round = 0; round < RULE_COST_ROUNDS; round++) {
    const order =
      round % 2 === 0
        ? ([
            ['single', single],
            ['ruled', ruled],
          ] as const)
        : ([
            ['ruled', ruled],
            ['single', single],
          ] as const);
    for (const [name, load] of order) {
      const before = processTreeCpuSeconds(gateway.pid);
      check(await runRequests(load, requests, 32));
      perRequest[name].push(((processTreeCpuSeconds(gateway.pid) - before) * 1e6) / requests);
    }
  }
  const ratios = perRequest.ruled.map((ruledUs, index) => ruledUs / (perRequest.single[index] ?? Number.NaN));
  return {
    'routing.cpu_us_per_request.single': Number(median(perRequest.single).toFixed(2)),
    'routing.cpu_us_per_request.rules20_targets10': Number(median(perRequest.ruled).toFixed(2)),
    'routing.rule_cost_ratio': Number(median(ratios).toFixed(3)),
  };
}

/** Extra median latency of a model against the healthy single target, one connection, interleaved blocks. */
async function extraLatencyMs(gateway: RunningServer, model: string, requests: number): Promise<number> {
  const healthy = target(gateway.origin, 'single');
  const tested = target(gateway.origin, model);
  const healthyRuns: Run[] = [];
  const testedRuns: Run[] = [];
  for (let block = 0; block < 4; block++) {
    healthyRuns.push(check(await runRequests(healthy, Math.ceil(requests / 4), 1)));
    testedRuns.push(check(await runRequests(tested, Math.ceil(requests / 4), 1)));
  }
  const extra = median(testedRuns.map(medianUs)) - median(healthyRuns.map(medianUs));
  return Number((extra / 1000).toFixed(3));
}

/**
 * Steady open-loop load on a fallback model while its primary is killed: the time from the
 * kill until every later window of 50 requests (by start time) has at least 99% answered
 * with 200 by the fallback target.
 */
async function recoveryMs(gateway: RunningServer, doomed: RunningServer, ratePerSecond: number): Promise<number> {
  const pool = new Pool(gateway.origin, { connections: 64 });
  const body = JSON.stringify({ model: 'failover', messages: [{ role: 'user', content: 'Say hello.' }] });
  const started: Array<{ at: number; done: Promise<boolean> }> = [];
  const send = (): Promise<boolean> =>
    pool
      .request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then(async (response) => {
        await response.body.dump();
        return (
          response.statusCode === 200 &&
          response.headers['x-lightport-provider'] === 'healthy' &&
          response.headers['x-lightport-model'] === 'gpt-4o-mini'
        );
      })
      .catch(() => false);
  const begin = performance.now();
  let killedAt = 0;
  const durationMs = 3000;
  while (performance.now() - begin < durationMs) {
    const due = Math.floor(((performance.now() - begin) / 1000) * ratePerSecond);
    while (started.length < due) started.push({ at: performance.now(), done: send() });
    if (killedAt === 0 && performance.now() - begin > 1000) {
      killedAt = performance.now();
      void doomed.stop();
    }
    await sleep(1);
  }
  const outcomes = await Promise.all(started.map((entry) => entry.done));
  await pool.close();
  const after = started.map((entry, index) => ({ at: entry.at, ok: outcomes[index] === true })).filter((entry) => entry.at >= killedAt);
  const window = 50;
  let recoveredAt = after.at(-1)?.at ?? killedAt;
  for (let first = after.length - window; first >= 0; first -= window) {
    const slice = after.slice(first, first + window);
    if (slice.filter((entry) => entry.ok).length < 0.99 * slice.length) break;
    recoveredAt = slice[0]?.at ?? recoveredAt;
  }
  return Number(Math.max(0, recoveredAt - killedAt).toFixed(1));
}

export async function runRoutingBench(): Promise<Record<string, number>> {
  const servers: RunningServer[] = [];
  const pinning = planPinning();
  if (pinning.drivers) pinThisProcess(pinning.drivers);
  const start = async (name: string, args: string[], cpus?: string): Promise<RunningServer> => {
    const server = await spawnServer(name, args, { cwd: repoRoot, ...(cpus ? { cpus } : {}) });
    servers.push(server);
    return server;
  };
  try {
    const [healthy, unavailable, doomed] = await Promise.all([
      start('healthy upstream', ['bench/fake-upstream.ts'], pinning.drivers),
      start('503 upstream', ['bench/status-upstream.ts', '--status', '503'], pinning.drivers),
      start('doomed upstream', ['bench/fake-upstream.ts'], pinning.drivers),
    ]);
    const upstreams: RoutingUpstreams = {
      healthy: healthy.origin,
      unavailable: unavailable.origin,
      refusing: await refusingOrigin(),
      doomed: doomed.origin,
    };
    const directory = mkdtempSync(path.join(tmpdir(), 'lightport-routing-bench-'));
    const configFile = (name: string, circuit: boolean): string => {
      const file = path.join(directory, `${name}.yaml`);
      writeFileSync(file, gatewayConfig(upstreams, circuit));
      return file;
    };
    const noCircuit = await start(
      'gateway (circuits off)',
      ['bin/lightport.js', 'start', '--config', configFile('plain', false)],
      pinning.proxies,
    );
    const withCircuit = await start(
      'gateway (circuits on)',
      ['bin/lightport.js', 'start', '--config', configFile('circuit', true)],
      pinning.proxies,
    );

    const figures: Record<string, number> = { ...(await ruleCost(noCircuit, scaled(5000))) };
    figures['routing.failover_extra_ms.refused'] = await extraLatencyMs(noCircuit, 'after-refused', scaled(4000));
    figures['routing.failover_extra_ms.503'] = await extraLatencyMs(noCircuit, 'after-503', scaled(4000));
    // Five refused attempts open the primary's circuit; from then on it is skipped.
    check(await runRequests(target(withCircuit.origin, 'after-refused'), 20, 1));
    figures['routing.failover_extra_ms.circuit_open'] = await extraLatencyMs(withCircuit, 'after-refused', scaled(4000));
    figures['routing.recovery_ms.primary_killed'] = await recoveryMs(withCircuit, doomed, 500);
    return figures;
  } finally {
    await closeRoutingPools();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

if (import.meta.main) {
  runRoutingBench().then(
    (figures) => {
      console.log(JSON.stringify(figures, null, 2));
      const targets: Array<[string, number]> = [
        ['routing.rule_cost_ratio', 1.05],
        ['routing.failover_extra_ms.refused', 5],
        ['routing.failover_extra_ms.503', 5],
        ['routing.failover_extra_ms.circuit_open', 0.2],
      ];
      for (const [name, limit] of targets)
        console.log(`${name}: ${figures[name]} (target <= ${limit}) ${(figures[name] ?? Infinity) <= limit ? 'ok' : 'MISSED'}`);
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
