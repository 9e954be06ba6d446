// What a fixed V8 young generation does to CPU per request and memory: the gateway and the bare
// proxy, each with Node's defaults (LIGHTPORT_SEMI_SPACE_MB=0) and with
// `node --min-semi-space-size=N --max-semi-space-size=N` (what `LIGHTPORT_SEMI_SPACE_MB=N` gives
// `lightport start`, src/cli/relaunch.ts), measured in one run. Not part of `npm run bench`: it
// measures a deployment setting, not the code. bench/translators.ts with the variable set shows
// the other side (streamed chunks).
// Usage: node bench/heap-tuning.ts   (env: BENCH_SEMI_SPACE_MB=32, BENCH_SCALE=0.2 for a quick run). Build first.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { planPinning, pinThisProcess } from './cpu-pinning.ts';
import { closePools, runLoad, type Target } from './load.ts';
import { processTreeCpuSeconds } from './proc-cpu.ts';
import { spawnServer, type RunningServer } from './spawn-server.ts';
import { warmupRequests } from './warmup.ts';
import { SEMI_SPACE_ENV } from '../src/cli/relaunch.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scale = Number(process.env['BENCH_SCALE'] ?? '1');
const semiSpaceMb = Number(process.env['BENCH_SEMI_SPACE_MB'] ?? '32');
/** Node refuses these two in NODE_OPTIONS: they go on the command line. */
const YOUNG_GENERATION_FLAGS = [`--min-semi-space-size=${semiSpaceMb}`, `--max-semi-space-size=${semiSpaceMb}`];
const REPLICAS = 2;
const CONNECTIONS = 32;
const WARMUP = warmupRequests(scale);
const WARMUP_PASSES = 5;
const REQUESTS = Math.max(200, Math.round(2000 * scale));
const ROUNDS = 20;

type Proxy = 'bare' | 'gateway';
interface Variant {
  readonly proxy: Proxy;
  readonly tuned: boolean;
  readonly servers: RunningServer[];
}

function residentMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? Number.NaN) / 1024;
}

async function main(): Promise<void> {
  const pinning = planPinning();
  if (pinning.drivers) pinThisProcess(pinning.drivers);
  const all: RunningServer[] = [];
  const start = async (name: string, args: string[], cpus: string | undefined, env: NodeJS.ProcessEnv): Promise<RunningServer> => {
    const server = await spawnServer(name, args, { cwd: repoRoot, env, ...(cpus ? { cpus } : {}) });
    all.push(server);
    return server;
  };
  try {
    const env = process.env;
    const upstream = await start('fake upstream', ['bench/fake-upstream.ts'], pinning.drivers, env);
    const gatewayEnv = {
      ...env,
      OPENAI_API_KEY: 'sk-bench-not-a-real-key',
      OPENAI_BASE_URL: `${upstream.origin}/v1`,
      LIGHTPORT_LOG_LEVEL: 'warn',
    };
    const variants: Variant[] = [];
    for (const proxy of ['bare', 'gateway'] as const) {
      for (const tuned of [false, true]) {
        const processEnv = { ...(proxy === 'gateway' ? gatewayEnv : env), ...(tuned ? {} : { [SEMI_SPACE_ENV]: '0' }) };
        const script =
          proxy === 'bare'
            ? ['bench/bare-proxy.ts', '--upstream', upstream.origin]
            : ['bin/lightport.js', 'start', '--config', 'examples/lightport.yaml', '--port', '0'];
        const args = tuned ? [...YOUNG_GENERATION_FLAGS, ...script] : script;
        const servers = await Promise.all(
          Array.from({ length: REPLICAS }, (_, index) =>
            start(`${proxy}${tuned ? ' tuned' : ''} ${index + 1}`, args, pinning.proxies, processEnv),
          ),
        );
        variants.push({ proxy, tuned, servers });
      }
    }
    const messages = [{ role: 'user', content: 'Say hello in one short sentence.' }];
    const targetOf = (server: RunningServer): Target => ({
      name: server.name,
      origin: server.origin,
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench-client' },
      bodies: {
        plain: JSON.stringify({ model: 'openai/gpt-4o-mini', messages }),
        stream: JSON.stringify({ model: 'openai/gpt-4o-mini', messages, stream: true }),
      },
    });
    const load = async (server: RunningServer, requests: number): Promise<void> => {
      const result = await runLoad(targetOf(server), 'plain', requests, { connections: CONNECTIONS });
      if (result.errors > 0) throw new Error(`${server.name}: ${result.firstError}\n${server.recentOutput()}`);
    };
    // Warm-up in passes over every process, so that none sits idle for long before its first round.
    const everyServer = variants.flatMap(({ servers }) => servers);
    for (let pass = 0; pass < WARMUP_PASSES; pass++) {
      for (let step = 0; step < everyServer.length; step++) {
        await load(everyServer[(pass + step) % everyServer.length] as RunningServer, Math.ceil(WARMUP / WARMUP_PASSES));
      }
    }
    const seconds = variants.map(() => 0);
    for (let round = 0; round < ROUNDS; round++) {
      for (let step = 0; step < variants.length; step++) {
        // Rotating, and backwards every other round: no variant always runs right after the same one.
        const offset = round % 2 === 0 ? step : variants.length - 1 - step;
        const index = (round + offset) % variants.length;
        const server = (variants[index] as Variant).servers[round % REPLICAS] as RunningServer;
        const before = processTreeCpuSeconds(server.pid);
        await load(server, REQUESTS);
        seconds[index] = (seconds[index] ?? 0) + processTreeCpuSeconds(server.pid) - before;
      }
    }
    const perRequestUs = seconds.map((total) => (total * 1e6) / (REQUESTS * ROUNDS));
    const rows = variants.map((variant, index) => {
      const rss = variant.servers.reduce((sum, server) => sum + residentMb(server.pid), 0) / REPLICAS;
      return { ...variant, cpuUs: perRequestUs[index] ?? Number.NaN, rss };
    });
    console.log(
      `young generation: Node's default vs a ${semiSpaceMb} MB semi-space; ${CONNECTIONS} connections, ${ROUNDS} rounds of ${REQUESTS}`,
    );
    console.log('process            CPU µs/request  change   RSS MB');
    for (const row of rows) {
      const plain = rows.find((other) => other.proxy === row.proxy && !other.tuned) ?? row;
      const change = ((row.cpuUs / plain.cpuUs - 1) * 100).toFixed(1);
      const label = `${row.proxy}${row.tuned ? ` (semi ${semiSpaceMb} MB)` : ''}`;
      console.log(
        `${label.padEnd(24)} ${row.cpuUs.toFixed(1).padStart(8)}  ${`${change}%`.padStart(6)}  ${row.rss.toFixed(0).padStart(7)}`,
      );
    }
    const ratio = (tuned: boolean): number =>
      (rows.find((row) => row.proxy === 'gateway' && row.tuned === tuned)?.cpuUs ?? Number.NaN) /
      (rows.find((row) => row.proxy === 'bare' && row.tuned === tuned)?.cpuUs ?? Number.NaN);
    console.log(`gateway ÷ bare: ${ratio(false).toFixed(3)} with defaults, ${ratio(true).toFixed(3)} with both tuned`);
  } finally {
    await closePools();
    await Promise.all(all.map((server) => server.stop()));
  }
}

await main();
