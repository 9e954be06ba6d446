import { mergeResults, runLoad, type LoadResult, type LoadShape, type RequestKind, type Target } from './load.ts';
import { processTreeCpuSeconds } from './proc-cpu.ts';
import { median, percentile } from './stats.ts';

export const targetNames = ['direct', 'bare', 'gateway'] as const;
export type TargetName = (typeof targetNames)[number];
export type ProxyName = Exclude<TargetName, 'direct'>;
export type Targets = Record<TargetName, Target>;

/** Errors per target over the whole run; the first one is printed as it happens. */
export class ErrorTally {
  readonly counts: Record<TargetName, number> = { direct: 0, bare: 0, gateway: 0 };
  readonly #log: (message: string) => void;

  constructor(log: (message: string) => void) {
    this.#log = log;
  }

  add(name: TargetName, result: LoadResult): LoadResult {
    if (result.errors > 0 && this.counts[name] === 0) this.#log(`first error: ${result.firstError}`);
    this.counts[name] += result.errors;
    return result;
  }
}

/** The same load on every target in rotating order, in blocks, so drifting machine noise hits all alike. */
export async function interleaved(
  targets: Targets,
  kind: RequestKind,
  perTarget: number,
  blocks: number,
  shape: LoadShape,
  tally: ErrorTally,
): Promise<Record<TargetName, LoadResult>> {
  const parts: Record<TargetName, LoadResult[]> = { direct: [], bare: [], gateway: [] };
  for (let block = 0; block < blocks; block++) {
    for (let i = 0; i < targetNames.length; i++) {
      const name = targetNames[(block + i) % targetNames.length] ?? 'direct';
      const result = await runLoad(targets[name], kind, Math.ceil(perTarget / blocks), shape);
      parts[name].push(tally.add(name, result));
    }
  }
  return { direct: mergeResults(parts.direct), bare: mergeResults(parts.bare), gateway: mergeResults(parts.gateway) };
}

/**
 * One connection per target, one request at a time, cycling through the targets request by request,
 * so a burst of machine noise lands on all of them alike instead of on whichever was being measured.
 */
export async function roundRobin(
  targets: Targets,
  kind: RequestKind,
  perTarget: number,
  tally: ErrorTally,
): Promise<Record<TargetName, LoadResult>> {
  const parts: Record<TargetName, LoadResult[]> = { direct: [], bare: [], gateway: [] };
  for (let i = 0; i < perTarget; i++) {
    for (const name of targetNames) parts[name].push(await runLoad(targets[name], kind, 1, { connections: 1 }));
  }
  const merged = { direct: mergeResults(parts.direct), bare: mergeResults(parts.bare), gateway: mergeResults(parts.gateway) };
  for (const name of targetNames) tally.add(name, merged[name]);
  return merged;
}

export interface CpuFigures {
  /** CPU microseconds per unit (request or stream chunk): total CPU over total units of all rounds. */
  perUnitUs: Record<ProxyName, number>;
  /** Per-round values, for the spread. */
  samplesUs: Record<ProxyName, number[]>;
  /** perUnitUs.gateway / perUnitUs.bare. */
  ratio: number;
  /** 25th and 75th percentiles of the per-round ratios: how noisy the rounds were. */
  ratioQuartiles: [number, number];
  requestsPerSecond: Record<ProxyName, number>;
}

/** One bare proxy and one gateway process, measured as a pair. */
export interface ProxyPair {
  readonly targets: Targets;
  readonly pids: Record<ProxyName, number>;
}

/**
 * CPU a proxy process spends over a fixed number of requests, in many short rounds that measure
 * bare and gateway back to back, alternating which goes first. On a small shared VM the same
 * process's CPU per request swings ±15% from one second to the next, so one long sample per
 * proxy is not enough; and two processes running the same code differ by a few percent for as
 * long as they live (where the JIT's concurrent compiles landed, memory layout), so the rounds
 * go to several pairs of processes in turn. Totals (rather than a median of rounds) keep garbage
 * collection, which lands in some rounds and not others, in the figure.
 */
export async function measureCpu(
  pairs: readonly ProxyPair[],
  options: { kind: RequestKind; requests: number; rounds: number; shape: LoadShape; unitsPerRequest: number },
  tally: ErrorTally,
): Promise<CpuFigures> {
  const samplesUs: Record<ProxyName, number[]> = { bare: [], gateway: [] };
  const rates: Record<ProxyName, number[]> = { bare: [], gateway: [] };
  const totalSeconds: Record<ProxyName, number> = { bare: 0, gateway: 0 };
  const ratios: number[] = [];
  const units = options.requests * options.unitsPerRequest;
  for (let round = 0; round < options.rounds; round++) {
    const { targets, pids } = pairs[round % pairs.length] as ProxyPair;
    const order: ProxyName[] = Math.floor(round / pairs.length) % 2 === 0 ? ['bare', 'gateway'] : ['gateway', 'bare'];
    for (const proxy of order) {
      const before = processTreeCpuSeconds(pids[proxy]);
      const result = await runLoad(targets[proxy], options.kind, options.requests, options.shape);
      const cpuSeconds = processTreeCpuSeconds(pids[proxy]) - before;
      tally.add(proxy, result);
      totalSeconds[proxy] += cpuSeconds;
      samplesUs[proxy].push((cpuSeconds * 1e6) / units);
      rates[proxy].push(options.requests / (result.elapsedMs / 1000));
    }
    ratios.push((samplesUs.gateway.at(-1) ?? Number.NaN) / (samplesUs.bare.at(-1) ?? Number.NaN));
  }
  const perUnitUs = {
    bare: (totalSeconds.bare * 1e6) / (units * options.rounds),
    gateway: (totalSeconds.gateway * 1e6) / (units * options.rounds),
  };
  const ratioSamples = Float64Array.from(ratios);
  return {
    perUnitUs,
    samplesUs,
    ratio: perUnitUs.gateway / perUnitUs.bare,
    ratioQuartiles: [percentile(ratioSamples, 25), percentile(ratioSamples, 75)],
    requestsPerSecond: { bare: median(rates.bare), gateway: median(rates.gateway) },
  };
}
