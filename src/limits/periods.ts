/** Budget periods: calendar days, ISO weeks (from Monday) and months, in UTC. */
export type PeriodKind = 'day' | 'week' | 'month';

export interface Period {
  readonly kind: PeriodKind;
  /** Names the period in store rows and Redis keys, e.g. `day-2026-11-23`, `week-2026-11-23`, `month-2026-11`. */
  readonly id: string;
  readonly start: number;
  readonly end: number;
}

export const PERIOD_KINDS: readonly PeriodKind[] = ['day', 'week', 'month'];

export function periodAt(kind: PeriodKind, now: number): Period {
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const day = date.getUTCDate();
  switch (kind) {
    case 'day': {
      const start = Date.UTC(year, month, day);
      return { kind, id: `day-${isoDate(start)}`, start, end: Date.UTC(year, month, day + 1) };
    }
    case 'week': {
      const sinceMonday = (date.getUTCDay() + 6) % 7;
      const start = Date.UTC(year, month, day - sinceMonday);
      return { kind, id: `week-${isoDate(start)}`, start, end: Date.UTC(year, month, day - sinceMonday + 7) };
    }
    case 'month': {
      const start = Date.UTC(year, month, 1);
      return { kind, id: `month-${isoDate(start).slice(0, 7)}`, start, end: Date.UTC(year, month + 1, 1) };
    }
  }
}

function isoDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** The current period of each kind, recomputed only when one ends. */
export class PeriodClock {
  readonly #now: () => number;
  #current: Record<PeriodKind, Period>;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#current = this.#compute(now());
  }

  current(kind: PeriodKind): Period {
    const period = this.#current[kind];
    if (this.#now() < period.end) return period;
    this.#current = this.#compute(this.#now());
    return this.#current[kind];
  }

  #compute(now: number): Record<PeriodKind, Period> {
    return { day: periodAt('day', now), week: periodAt('week', now), month: periodAt('month', now) };
  }
}
