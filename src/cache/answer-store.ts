import { LRUCache } from 'lru-cache';
import type { TokenUsage } from '../providers/types.ts';

/** One cached answer: the chat.completion JSON, whatever mode it was asked in. */
export interface CachedAnswer {
  readonly body: string;
  readonly usage?: TokenUsage;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** Where an answer lives: the namespace and model let the admin API purge by either. */
export interface AnswerAddress {
  readonly namespace: string;
  readonly model: string;
  readonly key: string;
  /** `addressId` of the above, when already made (a remembered address keeps one string, whose hash V8 keeps too). */
  readonly id?: string;
}

export interface PurgeFilter {
  readonly namespace?: string;
  readonly model?: string;
}

/** A tier of the exact cache. */
export interface AnswerTier {
  get(address: AnswerAddress): Promise<CachedAnswer | undefined>;
  set(address: AnswerAddress, answer: CachedAnswer): Promise<void>;
  /** Removes every entry the filter matches; returns how many. */
  purge(filter: PurgeFilter): Promise<number>;
  close(): Promise<void>;
}

export function addressId(address: AnswerAddress): string {
  return address.id ?? `${address.namespace}:${encodeURIComponent(address.model)}:${address.key}`;
}

/** A namespace filter matches the namespace itself and its per-key children (`ns.<hash>`). */
export function matchesFilter(address: AnswerAddress, filter: PurgeFilter): boolean {
  if (filter.model !== undefined && address.model !== filter.model) return false;
  if (filter.namespace === undefined) return true;
  return address.namespace === filter.namespace || address.namespace.startsWith(`${filter.namespace}.`);
}

interface MemoryEntry {
  readonly address: AnswerAddress;
  readonly answer: CachedAnswer;
}

/** L1: an in-process LRU bounded by the bytes of its answers, each with its own TTL. */
export class MemoryTier implements AnswerTier {
  readonly #lru: LRUCache<string, MemoryEntry>;

  constructor(maxBytes: number) {
    this.#lru = new LRUCache<string, MemoryEntry>({
      maxSize: Math.max(1, maxBytes),
      sizeCalculation: (entry) => Math.max(1, entry.answer.body.length + entry.address.key.length),
    });
  }

  /** Synchronous, for the hot path of an exact hit. */
  peek(address: AnswerAddress): CachedAnswer | undefined {
    return this.#lru.get(addressId(address))?.answer;
  }

  get(address: AnswerAddress): Promise<CachedAnswer | undefined> {
    return Promise.resolve(this.peek(address));
  }

  set(address: AnswerAddress, answer: CachedAnswer): Promise<void> {
    const ttl = answer.expiresAt - Date.now();
    if (ttl > 0) this.#lru.set(addressId(address), { address, answer }, { ttl });
    return Promise.resolve();
  }

  purge(filter: PurgeFilter): Promise<number> {
    let removed = 0;
    for (const [id, entry] of this.#lru.entries()) {
      if (matchesFilter(entry.address, filter) && this.#lru.delete(id)) removed++;
    }
    return Promise.resolve(removed);
  }

  get stats(): { readonly entries: number; readonly bytes: number } {
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize };
  }

  close(): Promise<void> {
    this.#lru.clear();
    return Promise.resolve();
  }
}
