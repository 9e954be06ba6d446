/**
 * Values derived from strings seen lately, for derivations that cost far more than hashing the
 * string again (tokenizing a text, hashing a canonical request). Keys are bounded by their total
 * length; past it the memory starts over, which is cheaper than recency bookkeeping on every
 * hit, and a working set that fits is back within a few calls.
 */
export class RecentValues<V> {
  readonly #values = new Map<string, V>();
  readonly #mostCharacters: number;
  #characters = 0;

  constructor(mostCharacters: number) {
    this.#mostCharacters = mostCharacters;
  }

  get(key: string): V | undefined {
    return this.#values.get(key);
  }

  set(key: string, value: V): void {
    if (this.#characters + key.length > this.#mostCharacters) {
      this.#values.clear();
      this.#characters = 0;
    }
    this.#values.set(key, value);
    this.#characters += key.length;
  }
}
