import { describe, expect, it } from 'vitest';
import { RecentValues } from './recent-values.ts';

describe('RecentValues', () => {
  it('keeps values until their keys pass the character budget, then starts over', () => {
    const values = new RecentValues<number>(10);
    values.set('abcd', 1);
    values.set('efgh', 2);
    expect(values.get('abcd')).toBe(1);
    expect(values.get('efgh')).toBe(2);
    values.set('ijkl', 3);
    expect(values.get('abcd')).toBeUndefined();
    expect(values.get('efgh')).toBeUndefined();
    expect(values.get('ijkl')).toBe(3);
  });
});
