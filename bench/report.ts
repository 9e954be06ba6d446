import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, availableParallelism, release } from 'node:os';
import path from 'node:path';

export const targetNames = ['direct', 'bare', 'gateway'] as const;
export type TargetName = (typeof targetNames)[number];
export type ProxyName = Exclude<TargetName, 'direct'>;

export interface Percentiles {
  p50: number;
  p99: number;
}

/** Every figure in microseconds unless its name says otherwise. */
export interface BenchResults {
  cpuPerRequestUs: Record<ProxyName, number>;
  cpuSamplesUs: Record<ProxyName, number[]>;
  throughputRps: Record<ProxyName, number>;
  latency1: Record<TargetName, Percentiles>;
  latency64: Record<TargetName, Percentiles>;
  streamFirstByte: Record<TargetName, Percentiles>;
  streamCpuPerChunkUs: Record<ProxyName, number>;
  errors: Record<TargetName, number>;
}

export interface TargetCheck {
  name: string;
  figure: string;
  value: number;
  limit: number;
  pass: boolean;
}

export interface BenchReport {
  machine: { node: string; cpuModel: string; cores: number; kernel: string; date: string };
  settings: Record<string, number | string>;
  figures: Record<string, number>;
  targets: TargetCheck[];
  pass: boolean;
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

export function flattenFigures(r: BenchResults): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const proxy of ['bare', 'gateway'] as const) {
    figures[`cpu_us_per_request.${proxy}`] = round(r.cpuPerRequestUs[proxy]);
    figures[`throughput_rps_32_connections.${proxy}`] = round(r.throughputRps[proxy], 0);
    figures[`stream_cpu_us_per_chunk.${proxy}`] = round(r.streamCpuPerChunkUs[proxy], 2);
  }
  figures['cpu_ratio_gateway_to_bare'] = round(r.cpuPerRequestUs.gateway / r.cpuPerRequestUs.bare, 3);
  figures['stream_cpu_ratio_gateway_to_bare'] = round(r.streamCpuPerChunkUs.gateway / r.streamCpuPerChunkUs.bare, 3);
  const latencySets = { latency_1_connection: r.latency1, latency_64_connections: r.latency64, stream_first_byte: r.streamFirstByte };
  for (const [label, set] of Object.entries(latencySets)) {
    for (const target of targetNames) {
      figures[`${label}.p50_us.${target}`] = round(set[target].p50);
      figures[`${label}.p99_us.${target}`] = round(set[target].p99);
    }
    for (const proxy of ['bare', 'gateway'] as const) {
      figures[`${label}.added_p50_us.${proxy}`] = round(set[proxy].p50 - set.direct.p50);
      figures[`${label}.added_p99_us.${proxy}`] = round(set[proxy].p99 - set.direct.p99);
    }
  }
  return figures;
}

export function checkTargets(figures: Record<string, number>): TargetCheck[] {
  const check = (name: string, figure: string, limit: number): TargetCheck => {
    const value = figures[figure] ?? Number.NaN;
    return { name, figure, value, limit, pass: value <= limit };
  };
  return [
    check('CPU per request, gateway / bare proxy', 'cpu_ratio_gateway_to_bare', 1.25),
    check('p99 added latency at 1 connection (µs)', 'latency_1_connection.added_p99_us.gateway', 1000),
  ];
}

export function machineFacts(): BenchReport['machine'] {
  return {
    node: process.version,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    kernel: release(),
    date: new Date().toISOString(),
  };
}

const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function table(title: string, header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [`\n${title}`, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderTables(r: BenchResults, targets: TargetCheck[]): string {
  const latencyRows = (set: Record<TargetName, Percentiles>): string[][] =>
    targetNames.map((t) => [
      t,
      fmt(set[t].p50),
      fmt(set[t].p99),
      t === 'direct' ? '' : fmt(set[t].p50 - set.direct.p50),
      t === 'direct' ? '' : fmt(set[t].p99 - set.direct.p99),
    ]);
  const latencyHeader = ['target', 'p50 µs', 'p99 µs', 'added p50', 'added p99'];
  const proxies = ['bare', 'gateway'] as const;
  return [
    table(
      'CPU of the proxy process (32 connections)',
      ['proxy', 'µs/request', 'samples', 'req/s', 'µs/stream chunk'],
      proxies.map((p) => [
        p,
        fmt(r.cpuPerRequestUs[p], 1),
        r.cpuSamplesUs[p].map((s) => fmt(s, 1)).join(' '),
        fmt(r.throughputRps[p]),
        fmt(r.streamCpuPerChunkUs[p], 2),
      ]),
    ),
    table('Latency, 1 connection', latencyHeader, latencyRows(r.latency1)),
    table('Latency, 64 connections', latencyHeader, latencyRows(r.latency64)),
    table('Streaming time to first byte, 1 connection', latencyHeader, latencyRows(r.streamFirstByte)),
    table(
      'Targets',
      ['target', 'value', 'limit', 'result'],
      targets.map((t) => [t.name, fmt(t.value, 3), String(t.limit), t.pass ? 'PASS' : 'FAIL']),
    ),
    `\nerrors: ${targetNames.map((t) => `${t} ${r.errors[t]}`).join(', ')}`,
  ].join('\n');
}

export function readPreviousReport(file: string): BenchReport | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  } catch {
    return undefined;
  }
}

export function renderChanges(previous: BenchReport, figures: Record<string, number>): string {
  const rows = Object.entries(figures).flatMap(([name, value]) => {
    const before = previous.figures[name];
    if (before === undefined) return [];
    const change = before === 0 ? '' : `${value >= before ? '+' : ''}${(((value - before) / Math.abs(before)) * 100).toFixed(1)}%`;
    return [[name, String(before), String(value), change]];
  });
  return table(`Change since ${previous.machine.date}`, ['figure', 'before', 'now', 'change'], rows);
}

export function writeReport(file: string, report: BenchReport): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(temporary, file);
}
