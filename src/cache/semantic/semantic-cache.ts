import { randomUUID } from 'node:crypto';
import type { CachePolicyConfig } from '../../config/cache-schema.ts';
import type { Logger } from '../../observability/logger.ts';
import type { RedisBackend } from '../../state/redis.ts';
import { matchesFilter, type AnswerAddress, type CachedAnswer, type PurgeFilter } from '../answer-store.ts';
import type { SemanticQuery } from '../key.ts';
import type { SemanticEntry } from './entry.ts';
import { embedderModelOf, LOCAL_EMBEDDER, ModelEmbedder, type EmbedThroughModel, type Embedder } from './embedders.ts';
import { FlatIndex } from './flat-index.ts';
import { guardsPass } from './guards.ts';
import { SemanticPersistence } from './persist.ts';

export interface SemanticCacheOptions {
  readonly storePath: string | undefined;
  readonly redis: RedisBackend | undefined;
  readonly logger: Logger;
  /** Embeds through a configured embedding model; absent, only the built-in embedder is there. */
  readonly embedThroughModel?: EmbedThroughModel | undefined;
}

/** How many nearest entries are checked against the guards before giving up. */
const CANDIDATES = 8;
const CHANNEL = 'cache:semantic';
const EMBED_WARNING_INTERVAL_MS = 60_000;

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
  readonly #embedThroughModel: EmbedThroughModel | undefined;
  readonly #embedders = new Map<string, Embedder>();
  readonly #warnedAt = new Map<string, number>();
  #size = 0;

  constructor(options: SemanticCacheOptions) {
    this.#persistence = options.storePath === undefined ? undefined : new SemanticPersistence(options.storePath);
    this.#redis = options.redis;
    this.#logger = options.logger;
    this.#embedThroughModel = options.embedThroughModel;
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

  /**
   * The nearest live entry above the policy's threshold that also passes its guards. When the
   * embedding model cannot embed the question, it is a miss (logged), never a failed request.
   */
  async find(
    query: SemanticQuery,
    policy: CachePolicyConfig,
  ): Promise<{ readonly address: AnswerAddress; readonly similarity: number } | undefined> {
    const index = this.#partitions.get(query.partition);
    if (index === undefined) return undefined;
    const embedded = this.#embedderFor(query.partition).embed(query.text);
    const vector = embedded instanceof Promise ? await embedded.catch((error: unknown) => this.#embedFailed(query, error)) : embedded;
    if (vector === undefined || vector.length !== index.dimensions) return undefined;
    const now = Date.now();
    for (const { item, similarity } of index.search(vector, policy.threshold, CANDIDATES)) {
      if (item.expiresAt > now && guardsPass(policy.guards, query.text, item.text)) {
        return { address: item.address, similarity: Math.min(1, similarity) };
      }
    }
    return undefined;
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

  /** Adds the entry under its partition once its text is embedded (at once with the built-in embedder). */
  #index(entry: SemanticEntry): void {
    const embedded = this.#embedderFor(entry.partition).embed(entry.text);
    if (!(embedded instanceof Promise)) return this.#add(entry, embedded);
    embedded.then(
      (vector) => this.#add(entry, vector),
      (error: unknown) => this.#embedFailed(entry, error),
    );
  }

  #add(entry: SemanticEntry, vector: Float32Array): void {
    let index = this.#partitions.get(entry.partition);
    if (index === undefined) {
      index = new FlatIndex<SemanticEntry>(vector.length);
      this.#partitions.set(entry.partition, index);
    }
    if (vector.length !== index.dimensions) return;
    index.add(vector, entry);
    this.#size++;
  }

  #embedderFor(partition: string): Embedder {
    const model = embedderModelOf(partition);
    if (model === undefined || this.#embedThroughModel === undefined) return LOCAL_EMBEDDER;
    let embedder = this.#embedders.get(model);
    if (embedder === undefined) this.#embedders.set(model, (embedder = new ModelEmbedder(model, this.#embedThroughModel)));
    return embedder;
  }

  /** Logged as a warning at most once a minute per model (a model that is down fails every lookup), else at debug. */
  #embedFailed(about: { readonly partition: string }, error: unknown): undefined {
    const model = embedderModelOf(about.partition) ?? 'local';
    const reason = error instanceof Error ? error.message : String(error);
    const now = Date.now();
    const warned = this.#warnedAt.get(model);
    const level = warned === undefined || now - warned >= EMBED_WARNING_INTERVAL_MS ? 'warn' : 'debug';
    if (level === 'warn') this.#warnedAt.set(model, now);
    this.#logger[level]({ embedding_model: model, err: reason }, 'cache: could not embed a question');
    return undefined;
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
