/** What a loader returns: the value and how long it stays fresh. */
export interface Loaded<T> {
  readonly value: T;
  readonly ttlMs: number;
}

interface Entry {
  readonly value: unknown;
  readonly expiresAt: number;
}

/**
 * The context cache: tool lists, resources, prompts and REST answers under keys that
 * carry every identity the content depends on. Entries expire by TTL or are invalidated
 * by notifications; concurrent misses for a key share one load (single flight); the
 * oldest entries go first past the size bound.
 */
export class ContextCache {
  readonly #entries = new Map<string, Entry>();
  /** Loads in flight; invalidation removes a key's, so a load that started before it stores nothing. */
  readonly #loading = new Map<string, Promise<unknown>>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(maxEntries: number, now: () => number = Date.now) {
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  /** The fresh cached value, if any, without loading. */
  peek<T>(key: string): T | undefined {
    const entry = this.#entries.get(key);
    return entry !== undefined && entry.expiresAt > this.#now() ? (entry.value as T) : undefined;
  }

  get<T>(key: string, load: () => Promise<Loaded<T>>): Promise<T> {
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.expiresAt > this.#now()) return Promise.resolve(entry.value as T);
    const pending = this.#loading.get(key);
    if (pending !== undefined) return pending as Promise<T>;
    const loading: Promise<T> = load().then(
      (loaded) => {
        if (this.#loading.get(key) === loading) {
          this.#loading.delete(key);
          if (loaded.ttlMs > 0) this.#store(key, loaded);
        }
        return loaded.value;
      },
      (error: unknown) => {
        if (this.#loading.get(key) === loading) this.#loading.delete(key);
        throw error;
      },
    );
    this.#loading.set(key, loading);
    return loading;
  }

  invalidate(key: string): void {
    this.#entries.delete(key);
    this.#loading.delete(key);
  }

  /** Drops every key that starts with the prefix (e.g. all partitions of one resource). */
  invalidatePrefix(prefix: string): void {
    for (const key of [...this.#entries.keys(), ...this.#loading.keys()]) if (key.startsWith(prefix)) this.invalidate(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  #store(key: string, loaded: Loaded<unknown>): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value: loaded.value, expiresAt: this.#now() + loaded.ttlMs });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }
}
