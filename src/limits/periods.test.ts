import { describe, expect, it } from 'vitest';
import { periodAt, PeriodClock } from './periods.ts';
import { formatDuration } from './headers.ts';

describe('budget periods (UTC)', () => {
  const at = Date.UTC(2026, 10, 25, 23, 59, 59); // Wednesday 25 November 2026

  it('cuts days at midnight, weeks on Monday and months on the 1st', () => {
    expect(periodAt('day', at)).toEqual({ kind: 'day', id: 'day-2026-11-25', start: Date.UTC(2026, 10, 25), end: Date.UTC(2026, 10, 26) });
    expect(periodAt('week', at)).toEqual({
      kind: 'week',
      id: 'week-2026-11-23',
      start: Date.UTC(2026, 10, 23),
      end: Date.UTC(2026, 10, 30),
    });
    expect(periodAt('month', at)).toEqual({ kind: 'month', id: 'month-2026-11', start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) });
  });

  it('puts a Sunday in the week that began the Monday before, and rolls over the year', () => {
    expect(periodAt('week', Date.UTC(2026, 10, 29, 12)).id).toBe('week-2026-11-23');
    expect(periodAt('week', Date.UTC(2026, 10, 30, 0)).id).toBe('week-2026-11-30');
    expect(periodAt('month', Date.UTC(2026, 11, 31, 23)).end).toBe(Date.UTC(2027, 0, 1));
    expect(periodAt('week', Date.UTC(2027, 0, 1)).id).toBe('week-2026-12-28');
  });

  it('moves to the next period when the clock passes the end', () => {
    let now = at;
    const clock = new PeriodClock(() => now);
    expect(clock.current('day').id).toBe('day-2026-11-25');
    now += 1000;
    expect(clock.current('day').id).toBe('day-2026-11-26');
    expect(clock.current('month').id).toBe('month-2026-11');
  });
});

describe('x-ratelimit-reset durations', () => {
  it('are written as OpenAI writes them', () => {
    expect([0, 20, 999.2, 1000, 1500, 59_999, 60_000, 360_000, 83_250].map(formatDuration)).toEqual([
      '0ms',
      '20ms',
      '1s',
      '1s',
      '1.5s',
      '59.999s',
      '1m0s',
      '6m0s',
      '1m23.25s',
    ]);
  });
});
