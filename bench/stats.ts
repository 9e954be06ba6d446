export interface Percentiles {
  p50: number;
  p99: number;
}

/** Nearest-rank percentile. */
export function percentile(samples: Float64Array, p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = samples.toSorted();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

export function percentiles(samples: Float64Array): Percentiles {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  return percentile(Float64Array.from(values), 50);
}
