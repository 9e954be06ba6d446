import type { InFlightRequests } from './in-flight.ts';
import { performance } from 'node:perf_hooks';

/** How often in-flight requests are checked against their deadlines: the precision of a deadline. */
export const DEADLINE_SWEEP_MS = 20;

/**
 * Aborts in-flight requests whose deadline (`context.deadlineAt`) has passed, from one timer
 * for the whole server instead of a timer made and cleared per request. The timer runs only
 * while requests are in flight: each wake-up of an idle process costs tens of microseconds
 * here, and fifty a second kept an idle gateway at half a percent of a core.
 */
export class DeadlineSweep {
  readonly #inFlight: InFlightRequests;
  readonly #everyMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(inFlight: InFlightRequests, everyMs = DEADLINE_SWEEP_MS) {
    this.#inFlight = inFlight;
    this.#everyMs = everyMs;
  }

  /** A request has arrived: make sure the sweep is running. */
  arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#sweep(), this.#everyMs);
    this.#timer.unref();
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sweep(): void {
    if (this.#inFlight.size === 0) return this.stop();
    const now = performance.now();
    for (const context of this.#inFlight) {
      if (now >= context.deadlineAt && !context.abort.signal.aborted) context.abort.abort('deadline');
    }
  }
}
