import type { Metric, Registry } from 'prom-client';

export type Labels = Readonly<Record<string, string>>;

interface ExportedValue {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}

/**
 * Counters and histograms for the per-request path, whose label sets are bound once to plain
 * cells: recording is an addition (prom-client's own children validate and hash their labels
 * on every call). They export through prom-client's registry like any of its metrics, so
 * exposition, content type and default metrics stay prom-client's.
 */
abstract class BoundMetric<Cell> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum';
  abstract readonly type: 'counter' | 'histogram';
  readonly #cells = new Map<string, Cell>();

  constructor(registry: Registry, name: string, help: string) {
    this.name = name;
    this.help = help;
    registry.registerMetric(this as unknown as Metric);
  }

  /** The cell of one label set; the same labels always give the same cell. */
  cell(labels: Labels): Cell {
    const key = JSON.stringify(labels);
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = this.create(labels);
      this.#cells.set(key, cell);
    }
    return cell;
  }

  /** What prom-client's registry reads when scraped. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const cell of this.#cells.values()) this.export(cell, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  protected abstract create(labels: Labels): Cell;
  protected abstract export(cell: Cell, into: ExportedValue[]): void;
}

export interface CounterCell {
  readonly labels: Labels;
  value: number;
}

export class BoundCounter extends BoundMetric<CounterCell> {
  readonly type = 'counter';

  protected create(labels: Labels): CounterCell {
    return { labels, value: 0 };
  }

  protected export(cell: CounterCell, into: ExportedValue[]): void {
    if (cell.value > 0) into.push({ labels: cell.labels, value: cell.value });
  }
}

export class HistogramCell {
  readonly labels: Labels;
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Labels, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.#bounds;
    let index = 0;
    while (index < bounds.length && value > (bounds[index] as number)) index++;
    (this.counts[index] as number)++;
  }
}

export class BoundHistogram extends BoundMetric<HistogramCell> {
  readonly type = 'histogram';
  readonly #bounds: readonly number[];

  constructor(registry: Registry, options: { name: string; help: string; buckets: readonly number[] }) {
    super(registry, options.name, options.help);
    this.#bounds = options.buckets;
  }

  protected create(labels: Labels): HistogramCell {
    return new HistogramCell(labels, this.#bounds);
  }

  protected export(cell: HistogramCell, into: ExportedValue[]): void {
    if (cell.count === 0) return;
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    this.#bounds.forEach((bound, index) => {
      cumulative += cell.counts[index] ?? 0;
      into.push({ labels: { ...cell.labels, le: String(bound) }, value: cumulative, metricName: bucket });
    });
    into.push({ labels: { ...cell.labels, le: '+Inf' }, value: cell.count, metricName: bucket });
    into.push({ labels: cell.labels, value: cell.sum, metricName: `${this.name}_sum` });
    into.push({ labels: cell.labels, value: cell.count, metricName: `${this.name}_count` });
  }
}
