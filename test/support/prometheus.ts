import { getMetricsFromIterator, type PromMetric, type PromMetrics } from 'prom2javascript';

/** One series of a family, as prom2javascript parses the Prometheus text format. */
export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly value?: number;
  readonly buckets?: Readonly<Record<string, number>>;
  readonly count?: number;
  readonly sum?: number;
}

export interface Scrape {
  readonly families: PromMetrics;
  family(name: string): PromMetric | undefined;
  series(name: string, labels?: Record<string, string>): readonly Series[];
  /** Sum of the values (histogram counts) of the series whose labels include `labels` ("" matches an absent label). */
  value(name: string, labels?: Record<string, string>): number;
  /** Sum of histogram sums over the matching series. */
  sum(name: string, labels?: Record<string, string>): number;
}

/** Scrapes a /metrics URL and parses it with a real Prometheus text-format parser. */
export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`scrape ${url}: HTTP ${response.status}`);
  // The format allows NaN samples (prom-client writes "Nan" for an event-loop gauge with no data since the last
  // scrape) but prom2javascript rejects them, so those lines are left out before parsing.
  const text = (await response.text()).replace(/^.* nan$\n?/gim, '');
  const families = await getMetricsFromIterator(text.split('\n')[Symbol.iterator]());
  const series = (name: string, labels: Record<string, string> = {}): readonly Series[] =>
    ((families[name]?.data ?? []) as Series[]).filter((item) =>
      Object.entries(labels).every(([key, value]) => (item.labels[key] ?? '') === value),
    );
  return {
    families,
    family: (name) => families[name],
    series,
    value: (name, labels) => series(name, labels).reduce((total, item) => total + (item.value ?? item.count ?? 0), 0),
    sum: (name, labels) => series(name, labels).reduce((total, item) => total + (item.sum ?? 0), 0),
  };
}
