import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import path from 'node:path';
import { targetNames, type CpuFigures, type TargetName } from './phases.ts';
import type { Percentiles } from './stats.ts';

/** Every figure in microseconds unless its name says otherwise. */
export interface BenchResults {
  cpu: CpuFigures;
  cpuAtFixedRate: CpuFigures;
  streamCpuPerChunk: CpuFigures;
  latency1: Record<TargetName, Percentiles>;
  latency64: Record<TargetName, Percentiles>;
  streamFirstByte: Record<TargetName, Percentiles>;
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
  const cpuSets = {
    cpu_us_per_request: r.cpu,
    cpu_us_per_request_at_fixed_rate: r.cpuAtFixedRate,
    stream_cpu_us_per_chunk: r.streamCpuPerChunk,
  };
  for (const [label, set] of Object.entries(cpuSets)) {
    figures[`${label}.bare`] = round(set.perUnitUs.bare, 2);
    figures[`${label}.gateway`] = round(set.perUnitUs.gateway, 2);
    figures[`${label}.ratio_gateway_to_bare`] = round(set.ratio, 3);
    figures[`${label}.ratio_p25`] = round(set.ratioQuartiles[0], 3);
    figures[`${label}.ratio_p75`] = round(set.ratioQuartiles[1], 3);
  }
  figures['throughput_rps_32_connections.bare'] = round(r.cpu.requestsPerSecond.bare, 0);
  figures['throughput_rps_32_connections.gateway'] = round(r.cpu.requestsPerSecond.gateway, 0);
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
    check('CPU per request, gateway / bare proxy', 'cpu_us_per_request.ratio_gateway_to_bare', 1.25),
    check('p99 added latency at 1 connection (µs)', 'latency_1_connection.added_p99_us.gateway', 1000),
  ];
}

export function machineFacts(): BenchReport['machine'] {
  return {
    node: process.version,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    // The machine's cores: by the time this is written the bench has pinned itself to some of them.
    cores: cpus().length,
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

function cpuRows(label: string, set: CpuFigures, digits: number): string[][] {
  return (['bare', 'gateway'] as const).map((proxy) => {
    const samples = set.samplesUs[proxy];
    return [
      `${label}, ${proxy}`,
      fmt(set.perUnitUs[proxy], digits),
      `${fmt(Math.min(...samples), digits)}–${fmt(Math.max(...samples), digits)}`,
      proxy === 'gateway' ? fmt(set.ratio, 3) : '',
      proxy === 'gateway' ? `${fmt(set.ratioQuartiles[0], 2)}–${fmt(set.ratioQuartiles[1], 2)}` : '',
      fmt(set.requestsPerSecond[proxy]),
    ];
  });
}

function latencyRows(set: Record<TargetName, Percentiles>): string[][] {
  return targetNames.map((t) => [
    t,
    fmt(set[t].p50),
    fmt(set[t].p99),
    t === 'direct' ? '' : fmt(set[t].p50 - set.direct.p50),
    t === 'direct' ? '' : fmt(set[t].p99 - set.direct.p99),
  ]);
}

export function renderTables(r: BenchResults, settings: { fixedRate: number }, targets: TargetCheck[]): string {
  const latencyHeader = ['target', 'p50 µs', 'p99 µs', 'added p50', 'added p99'];
  return [
    table(
      'CPU of the proxy process (all rounds; range and quartiles over rounds)',
      ['measure', 'µs', 'range', 'ratio', 'ratio p25–p75', 'req/s'],
      [
        ...cpuRows('per request, 32 connections', r.cpu, 1),
        ...cpuRows(`per request, ${settings.fixedRate} req/s`, r.cpuAtFixedRate, 1),
        ...cpuRows('per stream chunk, 32 connections', r.streamCpuPerChunk, 2),
      ],
    ),
    table('Latency, 1 connection', latencyHeader, latencyRows(r.latency1)),
    table('Latency, 64 connections (all processes saturated: mostly queueing)', latencyHeader, latencyRows(r.latency64)),
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

/** Headline figures only; latest.json has the rest. */
const comparedFigures = [
  'cpu_us_per_request.ratio_gateway_to_bare',
  'cpu_us_per_request.gateway',
  'cpu_us_per_request_at_fixed_rate.ratio_gateway_to_bare',
  'stream_cpu_us_per_chunk.ratio_gateway_to_bare',
  'stream_cpu_us_per_chunk.gateway',
  'throughput_rps_32_connections.gateway',
  'latency_1_connection.added_p50_us.gateway',
  'latency_1_connection.added_p99_us.gateway',
  'latency_64_connections.added_p99_us.gateway',
  'stream_first_byte.added_p50_us.gateway',
  'stream_first_byte.added_p99_us.gateway',
];

export function renderChanges(previous: BenchReport, figures: Record<string, number>): string {
  const rows = comparedFigures.flatMap((name) => {
    const before = previous.figures[name];
    const now = figures[name];
    if (before === undefined || now === undefined) return [];
    const change = before === 0 ? '' : `${now >= before ? '+' : ''}${(((now - before) / Math.abs(before)) * 100).toFixed(1)}%`;
    return [[name, String(before), String(now), change]];
  });
  return table(`Change since the previous run (${previous.machine.date})`, ['figure', 'before', 'now', 'change'], rows);
}

export function writeReport(file: string, report: BenchReport): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(temporary, file);
}

/** The feature suites' figures and their targets, one table. */
export function renderSuiteTargets(figures: Record<string, number>, targets: readonly TargetCheck[]): string {
  const figureRows = Object.entries(figures).map(([name, value]) => [name, fmt(value, 3)]);
  const targetRows = targets.map((t) => [t.name, fmt(t.value, 3), String(t.limit), t.pass ? 'PASS' : 'FAIL']);
  return `${table('Feature suites', ['figure', 'value'], figureRows)}\n\n${table('Feature targets', ['target', 'value', 'limit', 'result'], targetRows)}`;
}
