import { describe, expect, it } from 'vitest';
import { localEmbedding } from './embed.ts';
import { FlatIndex } from './flat-index.ts';

const DIMENSIONS = 64;

/** A deterministic pseudo-random unit vector; `density` of its dimensions are non-zero. */
function vector(seed: number, density: number): Float32Array {
  let state = seed * 2654435761;
  const next = (): number => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return state / 2 ** 32;
  };
  const values = new Float32Array(DIMENSIONS);
  for (let dimension = 0; dimension < DIMENSIONS; dimension++) if (next() < density) values[dimension] = next() * 2 - 1;
  let norm = 0;
  for (const value of values) norm += value * value;
  norm = Math.sqrt(norm) || 1;
  for (let dimension = 0; dimension < DIMENSIONS; dimension++) values[dimension] = (values[dimension] ?? 0) / norm;
  return values;
}

function bruteForce(
  stored: readonly Float32Array[],
  query: Float32Array,
  threshold: number,
  limit: number,
): { item: number; similarity: number }[] {
  return stored
    .map((values, item) => {
      let similarity = 0;
      for (let dimension = 0; dimension < DIMENSIONS; dimension++)
        similarity += (query[dimension] as number) * (values[dimension] as number);
      return { item, similarity };
    })
    .filter((match) => match.similarity >= threshold)
    .toSorted((a, b) => b.similarity - a.similarity)
    .slice(0, limit);
}

describe('FlatIndex.search', () => {
  const stored = Array.from({ length: 500 }, (_, seed) => vector(seed + 1, 0.5));
  const index = new FlatIndex<number>(DIMENSIONS);
  stored.forEach((values, item) => index.add(values, item));

  it.each([
    ['sparse', 0.1],
    ['half-full', 0.5],
    ['dense', 1],
  ])('finds exactly what a full scan finds, for a %s query', (_kind, density) => {
    for (let seed = 1000; seed < 1020; seed++) {
      const query = vector(seed, density);
      for (const [threshold, limit] of [
        [-1, 5],
        [0.1, 3],
        [0.3, 50],
      ] as const) {
        expect(index.search(query, threshold, limit)).toEqual(bruteForce(stored, query, threshold, limit));
      }
    }
  });

  it('scores a stored vector against itself at 1, with the built-in embedder', () => {
    const texts = ['What is the capital of France?', 'How many legs does a spider have?', 'Explain TCP slow start briefly.'];
    const embedded = new FlatIndex<string>(256);
    for (const text of texts) embedded.add(localEmbedding(text), text);
    for (const text of texts) {
      const [top] = embedded.search(localEmbedding(text), 0.5, 1);
      expect(top?.item).toBe(text);
      expect(top?.similarity).toBeCloseTo(1, 6);
    }
  });
});
