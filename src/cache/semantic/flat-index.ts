/**
 * Exact nearest-neighbour search over one partition's vectors, stored contiguously.
 * Partitions are small (a namespace, model, and the fields that must match), so a
 * scan of contiguous floats beats an approximate graph here; see the README's note.
 */
export class FlatIndex<T> {
  readonly #dimensions: number;
  #vectors: Float32Array;
  readonly #items: T[] = [];

  constructor(dimensions: number) {
    this.#dimensions = dimensions;
    this.#vectors = new Float32Array(dimensions * 16);
  }

  get dimensions(): number {
    return this.#dimensions;
  }

  get size(): number {
    return this.#items.length;
  }

  add(vector: Float32Array, item: T): void {
    const offset = this.#items.length * this.#dimensions;
    if (offset + this.#dimensions > this.#vectors.length) {
      const grown = new Float32Array(this.#vectors.length * 2);
      grown.set(this.#vectors);
      this.#vectors = grown;
    }
    this.#vectors.set(vector.subarray(0, this.#dimensions), offset);
    this.#items.push(item);
  }

  /** Removes every item the predicate matches (swap-remove: order is not kept). */
  removeWhere(predicate: (item: T) => boolean): number {
    let removed = 0;
    for (let index = this.#items.length - 1; index >= 0; index--) {
      if (!predicate(this.#items[index] as T)) continue;
      const last = this.#items.length - 1;
      if (index !== last) {
        this.#items[index] = this.#items[last] as T;
        this.#vectors.copyWithin(index * this.#dimensions, last * this.#dimensions, (last + 1) * this.#dimensions);
      }
      this.#items.pop();
      removed++;
    }
    return removed;
  }

  /** The `limit` items with the highest cosine similarity ≥ `threshold` (vectors are unit length), best first. */
  search(query: Float32Array, threshold: number, limit: number): { readonly item: T; readonly similarity: number }[] {
    const dimensions = this.#dimensions;
    const vectors = this.#vectors;
    // Kept sorted, best first, never longer than `limit`: no sort of every match.
    const best: { item: T; similarity: number }[] = [];
    let floor = threshold;
    for (let index = 0; index < this.#items.length; index++) {
      const offset = index * dimensions;
      let dot = 0;
      for (let dimension = 0; dimension < dimensions; dimension++)
        dot += (query[dimension] as number) * (vectors[offset + dimension] as number);
      if (dot < floor) continue;
      let at = best.length;
      while (at > 0 && (best[at - 1]?.similarity ?? 0) < dot) at--;
      best.splice(at, 0, { item: this.#items[index] as T, similarity: dot });
      if (best.length > limit) {
        best.pop();
        floor = best.at(-1)?.similarity ?? threshold;
      }
    }
    return best;
  }
}
