import { circuitChanged, type CircuitChanged } from '../observability/events.ts';
export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitSettings {
  readonly enabled: boolean;
  /** Consecutive failures that open the circuit. */
  readonly failures: number;
  readonly errorRate: number;
  readonly minRequests: number;
  readonly windowMs: number;
  readonly openMs: number;
}

export interface CircuitChange {
  readonly id: string;
  readonly state: 'open' | 'closed';
  /** For an open circuit: how long until it lets a probe through. */
  readonly remainingMs: number;
}

export type CircuitListener = (change: CircuitChange, remote: boolean) => void;

/** Failure counts over a sliding window, in ten buckets, so the rate is cheap to keep. */
class FailureWindow {
  readonly #attempts = new Uint32Array(10);
  readonly #failures = new Uint32Array(10);
  #bucketStart = 0;
  #index = 0;

  add(now: number, windowMs: number, failed: boolean): void {
    this.#advance(now, windowMs / 10);
    this.#attempts[this.#index]! += 1;
    if (failed) this.#failures[this.#index]! += 1;
  }

  rate(): { attempts: number; failures: number } {
    let attempts = 0;
    let failures = 0;
    for (let i = 0; i < 10; i++) {
      attempts += this.#attempts[i]!;
      failures += this.#failures[i]!;
    }
    return { attempts, failures };
  }

  clear(): void {
    this.#attempts.fill(0);
    this.#failures.fill(0);
  }

  #advance(now: number, bucketMs: number): void {
    let steps = Math.floor((now - this.#bucketStart) / bucketMs);
    if (steps <= 0) return;
    this.#bucketStart = steps >= 10 ? now : this.#bucketStart + steps * bucketMs;
    for (steps = Math.min(steps, 10); steps > 0; steps--) {
      this.#index = (this.#index + 1) % 10;
      this.#attempts[this.#index] = 0;
      this.#failures[this.#index] = 0;
    }
  }
}

/**
 * One target's circuit: closed until it keeps failing, then open (skipped at no cost)
 * for `openMs`, then half-open, letting one probe through; the probe's result closes or
 * re-opens it. Changes are reported to a listener, which shares them between replicas.
 */
export class CircuitBreaker {
  readonly id: string;
  #state: CircuitState = 'closed';
  #openUntil = 0;
  #probing = false;
  #consecutive = 0;
  readonly #window = new FailureWindow();
  readonly #settings: () => CircuitSettings;
  readonly #listener: CircuitListener;

  constructor(id: string, settings: () => CircuitSettings, listener: CircuitListener) {
    this.id = id;
    this.#settings = settings;
    this.#listener = listener;
  }

  get state(): CircuitState {
    return this.#state;
  }

  get consecutiveFailures(): number {
    return this.#consecutive;
  }

  /** Milliseconds until an open circuit lets a probe through (0 when not open). */
  remainingMs(now: number): number {
    return this.#state === 'open' ? Math.max(0, this.#openUntil - now) : 0;
  }

  errorRate(): number {
    const { attempts, failures } = this.#window.rate();
    return attempts === 0 ? 0 : failures / attempts;
  }

  /** Whether a request may try this target now; an expired open circuit admits one probe. */
  admit(now: number): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') {
      if (now < this.#openUntil) return false;
      this.#state = 'half_open';
      this.#probing = false;
      reportState(this.id, 'half_open');
    }
    if (this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /** An attempt that says nothing about the target's health (cancelled, a bad request) frees a probe slot. */
  neutral(): void {
    this.#probing = false;
  }

  success(now: number): void {
    this.#consecutive = 0;
    const settings = this.#settings();
    this.#window.add(now, settings.windowMs, false);
    if (this.#state !== 'closed') this.#close(false);
  }

  failure(now: number): void {
    this.#consecutive += 1;
    const settings = this.#settings();
    this.#window.add(now, settings.windowMs, true);
    if (!settings.enabled) return;
    if (this.#state === 'half_open') {
      this.#open(now, settings.openMs, false);
      return;
    }
    if (this.#state === 'open') return;
    const { attempts, failures } = this.#window.rate();
    const overRate = attempts >= settings.minRequests && failures / attempts >= settings.errorRate;
    if (this.#consecutive >= settings.failures || overRate) this.#open(now, settings.openMs, false);
  }

  /** A change another replica saw: applied without reporting it back. */
  applyRemote(change: CircuitChange, now: number): void {
    if (change.state === 'open') this.#open(now, change.remainingMs, true);
    else if (this.#state !== 'closed') this.#close(true);
  }

  /** Closes the circuit after a successful active probe. */
  closeAfterProbe(): void {
    if (this.#state !== 'closed') this.#close(false);
  }

  #open(now: number, forMs: number, remote: boolean): void {
    this.#state = 'open';
    this.#openUntil = now + forMs;
    this.#probing = false;
    reportState(this.id, 'open');
    this.#listener({ id: this.id, state: 'open', remainingMs: forMs }, remote);
  }

  #close(remote: boolean): void {
    this.#state = 'closed';
    this.#probing = false;
    this.#consecutive = 0;
    this.#window.clear();
    reportState(this.id, 'closed');
    this.#listener({ id: this.id, state: 'closed', remainingMs: 0 }, remote);
  }
}

/** For the metrics (lightport_circuit_state): every change of this replica's view, a remote one included. */
function reportState(target: string, state: CircuitState): void {
  if (circuitChanged.hasSubscribers) circuitChanged.publish({ target, state } satisfies CircuitChanged);
}
