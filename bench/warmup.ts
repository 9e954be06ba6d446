/**
 * Requests each process under test serves before any round is measured. A fresh gateway's V8 is
 * still compiling optimized code well past its first 20,000 requests (measured with --trace-opt
 * on the limits bench's gateway: 214 compilations between requests 10,000 and 20,000, 33 between
 * 20,000 and 30,000, then a handful per 10,000), and the compiler's threads count in the process's
 * CPU: a gateway with more code (limits, observability) warms up for longer, so a short warm-up
 * charges its rounds with its compilation. `BENCH_WARMUP` overrides the count.
 */
export function warmupRequests(scale: number): number {
  const override = Number(process.env['BENCH_WARMUP']);
  if (Number.isFinite(override) && override > 0) return Math.round(override);
  return Math.max(1000, Math.round(50_000 * scale));
}
