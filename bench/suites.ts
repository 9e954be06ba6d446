// The feature suites that `npm run bench` runs after the core comparison, each with its targets.
// Each suite starts its own processes and measures its ratios within its own run.
import { runCacheBench } from './cache.ts';
import { runInstructionsBench } from './instructions.ts';
import { runLimitsBench } from './limits.ts';
import { runMcpBench } from './mcp.ts';
import { runObservabilityBench } from './observability.ts';
import { runRoutingBench } from './routing.ts';
import { runTranslatorBench } from './translators.ts';

export interface SuiteTarget {
  readonly name: string;
  readonly figure: string;
  readonly limit: number;
}

export interface Suite {
  readonly name: string;
  readonly run: () => Promise<Record<string, number>>;
  readonly targets: readonly SuiteTarget[];
  /** Run only when BENCH_SUITES names it (it takes long, or needs a tool the machine may lack). */
  readonly optIn?: boolean;
  /** The longest the suite may take before the bench gives up, when longer than the usual cap. */
  readonly capMs?: number;
}

export const SUITES: readonly Suite[] = [
  {
    name: 'translators',
    run: runTranslatorBench,
    targets: [
      { name: 'Anthropic stream CPU per chunk / passthrough', figure: 'anthropicVsPassthrough', limit: 1.5 },
      { name: 'Gemini stream CPU per chunk / passthrough', figure: 'geminiVsPassthrough', limit: 1.5 },
    ],
  },
  {
    name: 'routing',
    run: runRoutingBench,
    targets: [
      { name: 'CPU, 20 rules and 10 targets / single target', figure: 'routing.rule_cost_ratio', limit: 1.05 },
      { name: 'failover extra latency, refused (ms)', figure: 'routing.failover_extra_ms.refused', limit: 5 },
      { name: 'failover extra latency, 503 (ms)', figure: 'routing.failover_extra_ms.503', limit: 5 },
      { name: 'failover extra latency, circuit open (ms)', figure: 'routing.failover_extra_ms.circuit_open', limit: 0.2 },
    ],
  },
  {
    name: 'mcp',
    run: runMcpBench,
    targets: [
      { name: 'MCP injection, warm cache, added p50 (ms)', figure: 'mcp_warm_injection_added_ms_p50', limit: 0.5 },
      { name: 'MCP injection, cold cache, gateway overhead p50 (ms)', figure: 'mcp_cold_gateway_overhead_ms_p50', limit: 2 },
    ],
  },
  {
    name: 'observability',
    run: runObservabilityBench,
    targets: [{ name: 'CPU, metrics + access log + SQLite store on / off', figure: 'observability.cpu_ratio_on_to_off', limit: 1.1 }],
  },
  {
    name: 'cache',
    run: runCacheBench,
    targets: [
      { name: 'exact cache hit CPU / bare proxy', figure: 'cache_exact_hit_cpu_ratio', limit: 0.5 },
      { name: 'false hits on distinct-but-similar prompts', figure: 'cache_workload_distinct_similar_false_hits', limit: 0 },
    ],
  },
  {
    name: 'limits',
    run: runLimitsBench,
    targets: [
      { name: 'CPU, keys + limits in memory / off', figure: 'limits.cpu_ratio_memory_to_off', limit: 1.05 },
      { name: 'CPU, keys + limits on Redis / off', figure: 'limits.cpu_ratio_redis_to_off', limit: 1.2 },
    ],
  },
  // Deterministic companions of the CPU ratios above (see bench/instructions.ts); no target of their own.
  { name: 'instructions', run: runInstructionsBench, targets: [], optIn: true, capMs: 45 * 60_000 },
];

/** `BENCH_SUITES=core,routing` picks parts; unset runs everything but the opt-in suites. */
export function selectedSuites(): { core: boolean; suites: readonly Suite[] } {
  const wanted = process.env['BENCH_SUITES']?.split(',').map((name) => name.trim());
  if (wanted === undefined) return { core: true, suites: SUITES.filter((suite) => suite.optIn !== true) };
  return { core: wanted.includes('core'), suites: SUITES.filter((suite) => wanted.includes(suite.name)) };
}
