import { describe, expect, it } from 'vitest';
import { decodeRows, EncodedRows } from './encoded-rows.ts';

describe('EncodedRows', () => {
  it('gives back exactly the rows pushed, across chunk boundaries and in any script', () => {
    const rows = Array.from({ length: 3000 }, (_, index) => [
      `id-${index}`,
      index,
      index % 3 === 0 ? null : index / 7,
      'naïve 東京 🚀 "quoted" \\ \n',
      'x'.repeat(index % 50),
    ]);
    const encoded = EncodedRows.of(rows);
    expect(encoded.count).toBe(3000);
    expect(decodeRows(encoded.json())).toEqual(rows);
  });

  it('holds a row larger than a chunk', () => {
    const big = ['é'.repeat(100_000), 1];
    expect(decodeRows(EncodedRows.of([['a'], big, ['b']]).json())).toEqual([['a'], big, ['b']]);
  });

  it('is an empty array when nothing was pushed', () => {
    expect(decodeRows(new EncodedRows().json())).toEqual([]);
  });
});
