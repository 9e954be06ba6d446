import { afterEach, describe, expect, it, vi } from 'vitest';
import { isoTimeNow } from './iso-time.ts';

describe('isoTimeNow', () => {
  afterEach(() => vi.useRealTimers());

  it('equals Date#toISOString at every millisecond of a second, and across seconds, minutes and years', () => {
    vi.useFakeTimers();
    for (const start of [Date.UTC(2026, 11, 6, 4, 59, 59, 0), Date.UTC(2026, 11, 31, 23, 59, 59, 990), 0]) {
      for (let offset = 0; offset < 1100; offset += 1) {
        vi.setSystemTime(start + offset);
        expect(isoTimeNow()).toBe(new Date(start + offset).toISOString());
      }
    }
  });
});
