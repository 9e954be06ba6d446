import { CircuitBreaker, type CircuitListener, type CircuitSettings } from './circuit-breaker.ts';

const LATENCY_SAMPLES = 128;
const SMOOTHING = 0.2;
const P95_REFRESH_EVERY = 16;
const MOST_TRANSIENT = 1024;

/**
 * What the gateway has seen of one target: a moving average and p95 of its latency (to
 * the first byte of its answer), attempts in flight, error rate and consecutive failures
 * (in its circuit breaker).
 */
export class HealthRecord {
  readonly id: string;
  readonly circuit: CircuitBreaker;
  inFlight = 0;
  /** Exponential moving average, milliseconds; 0 until the first observation. */
  latencyMs = 0;
  readonly #samples = new Float64Array(LATENCY_SAMPLES);
  #count = 0;
  #p95 = 0;
  #sinceP95 = 0;

  constructor(id: string, settings: () => CircuitSettings, listener: CircuitListener) {
    this.id = id;
    this.circuit = new CircuitBreaker(id, settings, listener);
  }

  begin(): void {
    this.inFlight++;
  }

  end(result: 'success' | 'failure' | 'neutral', latencyMs: number, now: number): void {
    this.inFlight--;
    if (result === 'neutral') {
      this.circuit.neutral();
      return;
    }
    if (result === 'success') {
      this.#observe(latencyMs);
      this.circuit.success(now);
    } else {
      this.circuit.failure(now);
    }
  }

  /** 95th percentile of the last observed latencies, refreshed every few observations. */
  get p95Ms(): number {
    const stale = this.#sinceP95 >= P95_REFRESH_EVERY || (this.#sinceP95 > 0 && this.#count <= P95_REFRESH_EVERY);
    if (stale) {
      const sorted = this.#samples.subarray(0, Math.min(this.#count, LATENCY_SAMPLES)).toSorted();
      this.#p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? 0;
      this.#sinceP95 = 0;
    }
    return this.#p95;
  }

  get observations(): number {
    return this.#count;
  }

  #observe(latencyMs: number): void {
    this.latencyMs = this.#count === 0 ? latencyMs : this.latencyMs + SMOOTHING * (latencyMs - this.latencyMs);
    this.#samples[this.#count % LATENCY_SAMPLES] = latencyMs;
    this.#count++;
    this.#sinceP95++;
  }
}

/**
 * Health records by target id (`<provider>/<model>`), kept across config reloads so a
 * reload does not forget which targets are failing.
 */
export class HealthMap {
  readonly #records = new Map<string, HealthRecord>();
  /** Records of targets named per request (`<provider>/<model>`), which callers choose: bounded. */
  readonly #transient = new Map<string, HealthRecord>();
  readonly #listeners = new Set<CircuitListener>();
  #settings: CircuitSettings;

  constructor(settings: CircuitSettings) {
    this.#settings = settings;
  }

  configure(settings: CircuitSettings): void {
    this.#settings = settings;
  }

  get settings(): CircuitSettings {
    return this.#settings;
  }

  record(id: string): HealthRecord {
    let record = this.#records.get(id);
    if (record === undefined) {
      record = new HealthRecord(
        id,
        () => this.#settings,
        (change, remote) => this.#notify(change, remote),
      );
      this.#records.set(id, record);
    }
    return record;
  }

  /** A record for a target the caller named rather than the config; the oldest are forgotten past a bound. */
  transientRecord(id: string): HealthRecord {
    const kept = this.#records.get(id) ?? this.#transient.get(id);
    if (kept !== undefined) return kept;
    if (this.#transient.size >= MOST_TRANSIENT) this.#transient.delete(this.#transient.keys().next().value ?? '');
    const record = new HealthRecord(
      id,
      () => this.#settings,
      (change, remote) => this.#notify(change, remote),
    );
    this.#transient.set(id, record);
    return record;
  }

  find(id: string): HealthRecord | undefined {
    return this.#records.get(id);
  }

  /** Every record: configured targets first, then the transient ones. */
  entries(): HealthRecord[] {
    return [...this.#records.values(), ...this.#transient.values()];
  }

  onChange(listener: CircuitListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(...args: Parameters<CircuitListener>): void {
    for (const listener of this.#listeners) listener(...args);
  }
}
