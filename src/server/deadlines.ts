import type { InFlightRequests } from './in-flight.ts';

/** How often in-flight requests are checked against their deadlines: the precision of a deadline. */
export const DEADLINE_SWEEP_MS = 20;

/**
 * Aborts in-flight requests whose deadline (`context.deadlineAt`) has passed, from one timer
 * for the whole server instead of a timer made and cleared per request.
 */
export function sweepDeadlines(inFlight: InFlightRequests, everyMs = DEADLINE_SWEEP_MS): () => void {
  const timer = setInterval(() => {
    if (inFlight.size === 0) return;
    const now = performance.now();
    for (const context of inFlight) {
      if (now >= context.deadlineAt && !context.abort.signal.aborted) context.abort.abort('deadline');
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
