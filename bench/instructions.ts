// Instructions per request, counted by valgrind's callgrind: the same comparisons as the CPU-time
// suites (gateway ÷ bare proxy, observability on ÷ off, limits ÷ off, exact cache hit ÷ bare
// proxy), in a unit that does not depend on what else the machine is doing. CPU time on a shared
// two-core machine drifts by tens of percent between minutes; an instruction count of the same
// code under the same load repeats to within a few percent, so it shows whether a change made a
// path cheaper. It is not CPU time: it weighs every instruction alike (a cache miss costs nothing
// here), so it complements the CPU figures and never replaces them.
// Usage: node bench/instructions.ts   (needs valgrind; BENCH_SCALE=0.3 for a quick run,
// BENCH_INSTRUCTIONS_VARIANTS=off,limits_memory for some variants only). Build first.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import { spawnServer, type RunningServer } from './spawn-server.ts';
import { servingNodeFlags } from '../src/cli/relaunch.ts';
import { load, VARIANTS, type Variant } from './variants.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scale = Number(process.env['BENCH_SCALE'] ?? '1');
/** Under callgrind a gateway serves a few hundred requests a second: 40,000 take about a minute. */
const WARMUP = Math.max(2000, Math.round(40_000 * scale));
const MEASURED = Math.max(500, Math.round(3000 * scale));
const CONNECTIONS = 8;
/** Variants measured at once: each valgrind is single-threaded, and the machine has two cores. */
const PARALLEL = 2;
/**
 * What V8 does beside the program: garbage collection and optimizing compilation. Under valgrind
 * their share depends on timing (concurrent marking and compile jobs start when threads get to
 * run; the memory reducer and bytecode flushing go by the clock), so the figure that repeats is
 * the rest: the program's own instructions, "mutator" in GC terms.
 */
const RUNTIME_WORK =
  /compiler::|maglev::|Maglev|turboshaft|Scaveng|Marking|Sweep|Evacuat|IterateObjectCache|RootPointer|Remembered|MarkCompact|heap::base|GCTracer|LiveObject|StringTableCleaner|Compaction/;

/** Instructions in one thread's dump: all of them, and those of the program itself. */
async function countThread(file: string): Promise<{ all: number; mutator: number }> {
  const { stdout } = await run('callgrind_annotate', ['--inclusive=no', '--threshold=100', file], { maxBuffer: 64 * 1024 * 1024 });
  let all = 0;
  let runtime = 0;
  for (const line of stdout.split('\n')) {
    const match = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    const count = Number(match[1].replaceAll(',', ''));
    if (match[2].includes('PROGRAM TOTALS')) all = count;
    else if (RUNTIME_WORK.test(match[2])) runtime += count;
  }
  return { all, mutator: all - runtime };
}

async function measure(variant: Variant, upstream: string, directory: string): Promise<{ all: number; mutator: number }> {
  mkdirSync(directory, { recursive: true });
  const outputs = path.join(directory, variant.name);
  const configFile = path.join(directory, `${variant.name}.yaml`);
  if (variant.config) writeFileSync(configFile, variant.config(directory));
  // The serving flags on the command line, as a re-launch would give them: a re-launched Node would
  // run outside valgrind.
  const server: RunningServer = await spawnServer(`${variant.name} under callgrind`, [...servingNodeFlags(), ...variant.args(configFile)], {
    cwd: repoRoot,
    env: { ...process.env, OPENAI_BASE_URL: `${upstream}/v1` },
    readyTimeoutMs: 180_000,
    // Instrumentation starts off (valgrind then runs several times faster) and is switched on
    // after the warm-up; one dump file per thread.
    wrapper: ['valgrind', '--tool=callgrind', '--separate-threads=yes', '--instr-atstart=no', `--callgrind-out-file=${outputs}.%p`],
  });
  const pool = new Pool(server.origin, { connections: CONNECTIONS, pipelining: 1 });
  try {
    await load(pool, variant, WARMUP, CONNECTIONS);
    await run('callgrind_control', ['--instr=on', String(server.pid)]);
    // Newly instrumented code runs slowly once: a few hundred requests before counting starts.
    await load(pool, variant, 500, CONNECTIONS);
    await sleep(2000);
    await run('callgrind_control', ['--zero', String(server.pid)]);
    await load(pool, variant, MEASURED, CONNECTIONS);
    // Work a request leaves behind (the store's batch, the access log's flush) counts for it.
    await sleep(variant.name === 'observability' ? 7000 : 2500);
    await run('callgrind_control', ['--dump', String(server.pid)]);
    await sleep(2000);
  } finally {
    await pool.close();
    await server.stop();
  }
  const prefix = `${variant.name}.${server.pid}.1-`;
  const files = readdirSync(directory).filter((file) => file.startsWith(prefix));
  if (files.length === 0) throw new Error(`${variant.name}: callgrind wrote no dump`);
  let all = 0;
  let mutator = 0;
  for (const file of files) {
    const counted = await countThread(path.join(directory, file));
    all += counted.all;
    mutator += counted.mutator;
  }
  return { all: all / MEASURED, mutator: mutator / MEASURED };
}

async function valgrindAvailable(): Promise<boolean> {
  try {
    await run('valgrind', ['--version']);
    await run('callgrind_control', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Processes measured per variant. A process now and then settles with a hot function left
 * unoptimized (seen once for the bare proxy: 50% more instructions, most of them in the inline
 * caches baseline code uses), so each variant runs in two processes and the lower count is the
 * one reported; both are printed.
 */
const REPLICAS = Math.max(1, Number(process.env['BENCH_INSTRUCTIONS_REPLICAS'] ?? '2'));

/** Instructions per request of every variant (thousands, program and all threads) and the ratios. */
export async function runInstructionsBench(): Promise<Record<string, number>> {
  if (!(await valgrindAvailable())) {
    console.log('instructions: valgrind is not installed; suite skipped');
    return {};
  }
  const directory = mkdtempSync(path.join(tmpdir(), 'lightport-bench-instructions-'));
  const upstream = await spawnServer('fake upstream', ['bench/fake-upstream.ts'], { cwd: repoRoot });
  const wanted = process.env['BENCH_INSTRUCTIONS_VARIANTS']?.split(',');
  const variants = wanted === undefined ? VARIANTS : VARIANTS.filter((variant) => wanted.includes(variant.name));
  const jobs = Array.from({ length: REPLICAS }, (_, replica) => variants.map((variant) => ({ variant, replica }))).flat();
  const counts = new Map<string, { all: number; mutator: number }[]>();
  try {
    for (let first = 0; first < jobs.length; first += PARALLEL) {
      const batch = jobs.slice(first, first + PARALLEL);
      const measured = await Promise.all(
        batch.map(({ variant, replica }) => measure(variant, upstream.origin, path.join(directory, `r${replica}`))),
      );
      batch.forEach(({ variant }, index) => {
        const list = counts.get(variant.name) ?? [];
        list.push(measured[index] as { all: number; mutator: number });
        counts.set(variant.name, list);
      });
    }
  } finally {
    await upstream.stop();
  }
  const lowest = (name: string): { all: number; mutator: number } =>
    (counts.get(name) ?? []).reduce((low, count) => (count.mutator < low.mutator ? count : low), { all: Number.NaN, mutator: Infinity });
  const ratio = (a: string, b: string): number => Number((lowest(a).mutator / lowest(b).mutator).toFixed(3));
  const thousands = (value: number): number => Number((value / 1000).toFixed(1));
  const figures: Record<string, number> = {};
  for (const [name, list] of counts) {
    figures[`instructions.thousands_per_request.${name}`] = thousands(lowest(name).mutator);
    figures[`instructions.thousands_per_request_all_threads.${name}`] = thousands(lowest(name).all);
    list.forEach(
      (count, replica) => (figures[`instructions.thousands_per_request.${name}.process_${replica + 1}`] = thousands(count.mutator)),
    );
  }
  const ratios: readonly (readonly [string, string, string])[] = [
    ['gateway_to_bare', 'off', 'bare'],
    ['observability_on_to_off', 'observability', 'off'],
    ['keys_to_off', 'keys', 'off'],
    ['limits_memory_to_off', 'limits_memory', 'off'],
    ['limits_memory_all_headers_to_off', 'limits_memory_all_headers', 'off'],
    ['limits_redis_to_off', 'limits_redis', 'off'],
    ['cache_hit_to_bare', 'cache_hit', 'bare'],
  ];
  for (const [name, variant, base] of ratios) {
    if (counts.has(variant) && counts.has(base)) figures[`instructions.ratio_${name}`] = ratio(variant, base);
  }
  for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(62)} ${value}`);
  return figures;
}

if (import.meta.main) await runInstructionsBench();
