import { randomUUID } from 'node:crypto';
import type { CachePolicyConfig } from '../../config/cache-schema.ts';
import type { Logger } from '../../observability/logger.ts';
import type { RedisBackend } from '../../state/redis.ts';
import { matchesFilter, type AnswerAddress, type CachedAnswer, type PurgeFilter } from '../answer-store.ts';
import type { SemanticQuery } from '../key.ts';
import type { SemanticEntry } from './entry.ts';
import { LOCAL_DIMENSIONS, localEmbedding } from './embed.ts';
import { FlatIndex } from './flat-index.ts';
import { guardsPass } from './guards.ts';
import { SemanticPersistence } from './persist.ts';

export interface SemanticCacheOptions {
  readonly storePath: string | undefined;
  readonly redis: RedisBackend | undefined;
  readonly logger: Logger;
}

/** How many nearest entries are checked against the guards before giving up. */
const CANDIDATES = 8;
const CHANNEL = 'cache:semantic';

interface Announcement {
  readonly origin: string;
  readonly entry: SemanticEntry;
}

/**
 * Questions already answered, by partition (everything that must match exactly), each
 * searched by similarity of the local embedding. Persisted to SQLite when a store path is
 * set; additions are announced through Redis so every replica adds them to its index.
 */
export class SemanticCache {
  readonly #partitions = new Map<string, FlatIndex<SemanticEntry>>();
  readonly #persistence: SemanticPersistence | undefined;
  readonly #redis: RedisBackend | undefined;
  readonly #logger: Logger;
  readonly #origin = randomUUID();
  #size = 0;

  constructor(options: SemanticCacheOptions) {
    this.#persistence = options.storePath === undefined ? undefined : new SemanticPersistence(options.storePath);
    this.#redis = options.redis;
    this.#logger = options.logger;
  }

  /** Loads the persisted index; `restore` receives each persisted answer (for the in-process tier). */
  async start(restore: (address: AnswerAddress, answer: CachedAnswer) => void): Promise<void> {
    for (const { entry, answer } of this.#persistence?.load(Date.now()) ?? []) {
      this.#index(entry);
      restore(entry.address, answer);
    }
    await this.#redis
      ?.subscribe(CHANNEL, (message) => this.#onAnnouncement(message))
      .catch((error: unknown) => {
        this.#logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'cache: cannot subscribe to semantic announcements',
        );
      });
  }

  get size(): number {
    return this.#size;
  }

  /** The nearest live entry above the policy's threshold that also passes its guards. */
  find(
    query: SemanticQuery,
    policy: CachePolicyConfig,
  ): Promise<{ readonly address: AnswerAddress; readonly similarity: number } | undefined> {
    const index = this.#partitions.get(query.partition);
    if (index === undefined) return Promise.resolve(undefined);
    const now = Date.now();
    for (const { item, similarity } of index.search(localEmbedding(query.text), policy.threshold, CANDIDATES)) {
      if (item.expiresAt > now && guardsPass(policy.guards, query.text, item.text)) {
        return Promise.resolve({ address: item.address, similarity: Math.min(1, similarity) });
      }
    }
    return Promise.resolve(undefined);
  }

  add(query: SemanticQuery, address: AnswerAddress, answer: CachedAnswer): void {
    const entry: SemanticEntry = { partition: query.partition, text: query.text, address, expiresAt: answer.expiresAt };
    this.#index(entry);
    this.#persistence?.save({ entry, answer });
    const announcement: Announcement = { origin: this.#origin, entry };
    this.#redis?.publish(CHANNEL, JSON.stringify(announcement)).catch(() => undefined);
  }

  purge(filter: PurgeFilter): number {
    let removed = 0;
    for (const [partition, index] of this.#partitions) {
      removed += index.removeWhere((entry) => matchesFilter(entry.address, filter));
      if (index.size === 0) this.#partitions.delete(partition);
    }
    this.#size -= removed;
    this.#persistence?.purge(filter.namespace, filter.model);
    return removed;
  }

  close(): Promise<void> {
    this.#persistence?.close();
    return Promise.resolve();
  }

  #index(entry: SemanticEntry): void {
    let index = this.#partitions.get(entry.partition);
    if (index === undefined) {
      index = new FlatIndex<SemanticEntry>(LOCAL_DIMENSIONS);
      this.#partitions.set(entry.partition, index);
    }
    index.add(localEmbedding(entry.text), entry);
    this.#size++;
  }

  #onAnnouncement(message: string): void {
    try {
      const announcement = JSON.parse(message) as Announcement;
      if (announcement.origin === this.#origin) return;
      // The answer itself is in Redis (L2); only this replica's index learns the question.
      this.#index(announcement.entry);
    } catch (error) {
      this.#logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'cache: bad semantic announcement');
    }
  }
}
