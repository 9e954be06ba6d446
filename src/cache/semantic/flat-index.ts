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
    const { slots, weights } = nonZero(query, dimensions);
    const sparse = slots.length < dimensions;
    // Kept sorted, best first, never longer than `limit`: no sort of every match.
    const best: { item: T; similarity: number }[] = [];
    let floor = threshold;
    for (let index = 0; index < this.#items.length; index++) {
      const offset = index * dimensions;
      const dot = sparse ? sparseDot(slots, weights, vectors, offset) : denseDot(query, vectors, offset, dimensions);
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

/**
 * The query's non-zero dimensions and their values. The built-in embedder hashes a prompt's few
 * dozen features into 256 dimensions, so most of a query is zeros, and a dot product over its
 * non-zero dimensions alone is exact and several times shorter. A dense query (an embedding
 * model's) keeps every dimension.
 */
function nonZero(query: Float32Array, dimensions: number): { slots: Int32Array; weights: Float64Array } {
  let count = 0;
  for (let dimension = 0; dimension < dimensions; dimension++) if (query[dimension] !== 0) count++;
  const slots = new Int32Array(count);
  const weights = new Float64Array(count);
  let at = 0;
  for (let dimension = 0; dimension < dimensions; dimension++) {
    const weight = query[dimension] as number;
    if (weight === 0) continue;
    slots[at] = dimension;
    weights[at++] = weight;
  }
  return { slots, weights };
}

function sparseDot(slots: Int32Array, weights: Float64Array, vectors: Float32Array, offset: number): number {
  let dot = 0;
  for (let at = 0; at < slots.length; at++) dot += (weights[at] as number) * (vectors[offset + (slots[at] as number)] as number);
  return dot;
}

function denseDot(query: Float32Array, vectors: Float32Array, offset: number, dimensions: number): number {
  let dot = 0;
  for (let dimension = 0; dimension < dimensions; dimension++)
    dot += (query[dimension] as number) * (vectors[offset + dimension] as number);
  return dot;
}
