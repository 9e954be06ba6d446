// Where the CPU time goes, natively: each variant (bench/variants.ts) runs in its own process,
// all under the same closed-loop load in rounds that take turns, while `perf record -e cpu-clock`
// samples them (a software clock: this machine's virtual CPUs have no hardware counters), with
// V8's `--perf-basic-prof` map naming the JIT-compiled JavaScript. It prints each thread's CPU per
// request and the symbols whose time differs most from its base variant's (off against the bare
// proxy, a feature against off). Use it to find where a difference lies; the CPU suites measure it (two processes of the same code differ by several
// percent, so one process per variant, as here, cannot settle a ratio). Callgrind's counts
// (bench/instructions.ts) weigh some native code quite differently: there JSON.stringify of an
// access-log line counted about 17 thousand instructions, here it takes about a microsecond.
// Usage: node bench/native-profile.ts [variant...]   (default: bare off; needs perf; build first;
// `npm run bench:profile -- bare off observability`; BENCH_PROFILE_CALLERS=symbol,... also lists
// what called each symbol named, from call graphs)
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { servingNodeFlags } from '../src/cli/relaunch.ts';
import { spawnServer, type RunningServer } from './spawn-server.ts';
import { load, VARIANTS, type Variant } from './variants.ts';
import { warmupRequests } from './warmup.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scale = Number(process.env['BENCH_SCALE'] ?? '1');
const ROUNDS = 20;
const MEASURED = ROUNDS * Math.max(100, Math.round(3000 * scale));
const WARMUP_PASSES = 5;
const CONNECTIONS = 32;
const SAMPLES_PER_SECOND = 4999;
const SHOWN = Number(process.env['BENCH_PROFILE_TOP'] ?? '20');
/** Symbols whose callers to list (`BENCH_PROFILE_CALLERS=Builtins_LoadGlobalIC,...`); call graphs are recorded only then. */
const CALLERS_OF = (process.env['BENCH_PROFILE_CALLERS'] ?? '').split(',').filter((symbol) => symbol !== '');
/** What each variant is compared with, as in the CPU suites. */
const BASE: Readonly<Record<string, string>> = {
  off: 'bare',
  cache_hit: 'bare',
  observability: 'off',
  keys: 'off',
  limits_memory: 'keys',
  limits_memory_all_headers: 'limits_memory',
  limits_redis: 'off',
};

/** Samples per thread name and symbol. */
type Profile = Map<string, Map<string, number>>;

/**
 * V8 reuses the addresses of code it discarded, and the map lists every code object ever made, so
 * an old entry can name newer code; perf takes the first it finds. The newest entry for a range
 * wins here: entries are kept newest first, dropping any that overlaps one already kept.
 */
function keepNewestMapEntries(pid: number): void {
  const file = `/tmp/perf-${pid}.map`;
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ start: Number.parseInt(match[1] ?? '', 16), size: Number.parseInt(match[2] ?? '', 16), line: match[0] }));
  const kept: typeof entries = [];
  const taken: { start: number; end: number }[] = [];
  for (const entry of entries.toReversed()) {
    const end = entry.start + Math.max(1, entry.size);
    if (taken.some((range) => range.start < end && entry.start < range.end)) continue;
    taken.push({ start: entry.start, end });
    kept.push(entry);
  }
  writeFileSync(`${file}.newest`, `${kept.map((entry) => entry.line).join('\n')}\n`);
  renameSync(`${file}.newest`, file);
}

async function readProfile(data: string): Promise<Profile> {
  const { stdout } = await run('perf', ['report', '-i', data, '--stdio', '-n', '--no-children', '-g', 'none', '--sort', 'comm,sym'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  const profile: Profile = new Map();
  for (const line of stdout.split('\n')) {
    const match = /^\s*[\d.]+%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(.*?)\s*$/.exec(line);
    if (!match) continue;
    const [, samples, thread = '', kind, symbol = ''] = match;
    const symbols = profile.get(thread) ?? new Map<string, number>();
    const name = kind === 'k' ? `[kernel] ${symbol}` : symbol;
    symbols.set(name, (symbols.get(name) ?? 0) + Number(samples));
    profile.set(thread, symbols);
  }
  return profile;
}

interface Profiled {
  readonly variant: Variant;
  readonly server: RunningServer;
  readonly pool: Pool;
  readonly data: string;
}

async function startVariant(variant: Variant, upstream: string, directory: string): Promise<Profiled> {
  const configFile = path.join(directory, `${variant.name}.yaml`);
  if (variant.config) writeFileSync(configFile, variant.config(directory));
  const server = await spawnServer(variant.name, [...servingNodeFlags(), '--perf-basic-prof', ...variant.args(configFile)], {
    cwd: repoRoot,
    env: { ...process.env, OPENAI_BASE_URL: `${upstream}/v1` },
  });
  const pool = new Pool(server.origin, { connections: CONNECTIONS, pipelining: 1 });
  return { variant, server, pool, data: path.join(directory, `${variant.name}.data`) };
}

/**
 * Every variant is sampled over the same stretch of time, in short rounds that take turns in
 * rotating order (a process is sampled only while it runs), so that the machine's slow and fast
 * spells fall on all of them alike.
 */
async function profileAll(profiled: readonly Profiled[]): Promise<Profile[]> {
  for (let pass = 0; pass < WARMUP_PASSES; pass++) {
    for (const { variant, pool } of profiled) await load(pool, variant, Math.ceil(warmupRequests(scale) / WARMUP_PASSES), CONNECTIONS);
  }
  const recorders = profiled.map(({ server, data }) =>
    spawn(
      'perf',
      [
        'record',
        '-q',
        '-e',
        'cpu-clock',
        '-F',
        String(SAMPLES_PER_SECOND),
        ...(CALLERS_OF.length > 0 ? ['-g'] : []),
        '-p',
        String(server.pid),
        '-o',
        data,
      ],
      { stdio: 'ignore' },
    ),
  );
  await sleep(1000);
  for (let round = 0; round < ROUNDS; round++) {
    for (let turn = 0; turn < profiled.length; turn++) {
      const { variant, pool } = profiled[(round + turn) % profiled.length] as Profiled;
      await load(pool, variant, MEASURED / ROUNDS, CONNECTIONS);
    }
  }
  // Work a request leaves behind (the store's batch, the access log's flush) counts for it.
  await sleep(1500);
  await Promise.all(
    recorders.map((perf) => {
      perf.kill('SIGINT');
      return new Promise((done) => perf.once('exit', done));
    }),
  );
  await Promise.all(profiled.map(({ pool }) => pool.close()));
  await Promise.all(profiled.map(({ server }) => server.stop()));
  return Promise.all(
    profiled.map(({ server, data }) => {
      keepNewestMapEntries(server.pid);
      return readProfile(data);
    }),
  );
}

const perRequestUs = (samples: number): number => (samples / SAMPLES_PER_SECOND / MEASURED) * 1e6;
const format = (us: number): string => us.toFixed(2).padStart(7);
const total = (symbols: Map<string, number> | undefined): number => [...(symbols?.values() ?? [])].reduce((sum, n) => sum + n, 0);

function printThreads(name: string, profile: Profile): void {
  const threads = [...profile].map(([thread, symbols]) => [thread, perRequestUs(total(symbols))] as const).toSorted((a, b) => b[1] - a[1]);
  const all = threads.reduce((sum, [, us]) => sum + us, 0);
  console.log(`${name.padEnd(16)} ${format(all)} µs/request: ${threads.map(([thread, us]) => `${thread} ${us.toFixed(2)}`).join(', ')}`);
}

function printDifferences(base: string, baseProfile: Profile, name: string, profile: Profile): void {
  const threads = new Set([...baseProfile.keys(), ...profile.keys()]);
  for (const thread of threads) {
    const before = baseProfile.get(thread) ?? new Map<string, number>();
    const after = profile.get(thread) ?? new Map<string, number>();
    const change = perRequestUs(total(after)) - perRequestUs(total(before));
    if (Math.abs(change) < 0.2) continue;
    console.log(`\n${name} − ${base}, thread ${thread}: ${change.toFixed(2)} µs/request`);
    const rows = [...new Set([...before.keys(), ...after.keys()])]
      .map((symbol) => ({
        symbol,
        base: perRequestUs(before.get(symbol) ?? 0),
        change: perRequestUs((after.get(symbol) ?? 0) - (before.get(symbol) ?? 0)),
      }))
      .toSorted((a, b) => Math.abs(b.change) - Math.abs(a.change))
      .slice(0, SHOWN);
    for (const row of rows) console.log(`${format(row.change)} ${format(row.base)}  ${row.symbol.slice(0, 140)}`);
  }
}

/** Symbol names in a perf script call chain line: `addr symbol+0xoffset (dso)`. */
const FRAME = /^\s+[0-9a-f]+ (.*?)(?:\+0x[0-9a-f]+)? \(.*\)$/;

/**
 * For each symbol of CALLERS_OF, the functions its samples were called from (the next frame of
 * the call chain, recorded through frame pointers, which V8's JIT code keeps), in µs per request.
 */
async function callersOf(data: string): Promise<Map<string, Map<string, number>>> {
  const callers = new Map(CALLERS_OF.map((symbol) => [symbol, new Map<string, number>()]));
  const script = spawn('perf', ['script', '-i', data], { stdio: ['ignore', 'pipe', 'ignore'] });
  let frames: string[] = [];
  const count = (): void => {
    const counts = frames[0] === undefined ? undefined : callers.get(frames[0]);
    if (counts !== undefined) counts.set(frames[1] ?? '(none)', (counts.get(frames[1] ?? '(none)') ?? 0) + 1);
    frames = [];
  };
  for await (const line of createInterface({ input: script.stdout })) {
    const frame = FRAME.exec(line);
    if (frame) frames.push(frame[1] ?? '');
    else count();
  }
  count();
  return callers;
}

function printCallers(name: string, callers: Map<string, Map<string, number>>): void {
  for (const [symbol, counts] of callers) {
    console.log(`\n${name}: callers of ${symbol} (µs/request)`);
    const rows = [...counts].toSorted((a, b) => b[1] - a[1]).slice(0, SHOWN);
    for (const [caller, samples] of rows) console.log(`${format(perRequestUs(samples))}  ${caller.slice(0, 140)}`);
  }
}

async function perfAvailable(): Promise<boolean> {
  try {
    await run('perf', ['--version']);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  if (!(await perfAvailable())) throw new Error('perf is not installed (Debian: linux-perf)');
  const names = process.argv.length > 2 ? process.argv.slice(2) : ['bare', 'off'];
  const variants = names.map((name) => {
    const variant = VARIANTS.find((candidate) => candidate.name === name);
    if (variant === undefined) throw new Error(`unknown variant ${name}; known: ${VARIANTS.map((known) => known.name).join(', ')}`);
    return variant;
  });
  const directory = mkdtempSync(path.join(tmpdir(), 'lightport-native-profile-'));
  const upstream = await spawnServer('fake upstream', ['bench/fake-upstream.ts'], { cwd: repoRoot });
  let profiles: Profile[];
  try {
    const profiled: Profiled[] = [];
    for (const variant of variants) profiled.push(await startVariant(variant, upstream.origin, directory));
    profiles = await profileAll(profiled);
  } finally {
    await upstream.stop();
  }
  console.log(`CPU per request by thread (${MEASURED} requests at ${CONNECTIONS} connections, perf cpu-clock at ${SAMPLES_PER_SECOND} Hz)`);
  variants.forEach((variant, index) => printThreads(variant.name, profiles[index] as Profile));
  const profileOf = new Map(variants.map((variant, index) => [variant.name, profiles[index] as Profile]));
  for (const variant of variants) {
    const base = BASE[variant.name];
    const baseProfile = base === undefined ? undefined : profileOf.get(base);
    if (base !== undefined && baseProfile !== undefined)
      printDifferences(base, baseProfile, variant.name, profileOf.get(variant.name) as Profile);
  }
  if (CALLERS_OF.length > 0) {
    for (const variant of variants) printCallers(variant.name, await callersOf(path.join(directory, `${variant.name}.data`)));
  }
  console.log(`\ncolumns: change in µs/request, the base variant's µs/request, symbol; perf data in ${directory}`);
}
