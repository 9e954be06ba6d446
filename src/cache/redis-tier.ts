import type { RedisBackend } from '../state/redis.ts';
import { addressId, type AnswerAddress, type AnswerTier, type CachedAnswer, type PurgeFilter } from './answer-store.ts';

/** The glob metacharacters SCAN MATCH would otherwise interpret. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * L2: answers in Redis with their TTL, shared by every replica. One key per answer
 * (single-key commands only, so it works on Redis Cluster too).
 */
export class RedisTier implements AnswerTier {
  readonly #redis: RedisBackend;

  constructor(redis: RedisBackend) {
    this.#redis = redis;
  }

  #key(address: AnswerAddress): string {
    return `${this.#redis.prefix}cache:${addressId(address)}`;
  }

  async get(address: AnswerAddress): Promise<CachedAnswer | undefined> {
    const raw = await this.#redis.client.get(this.#key(address));
    if (raw === null) return undefined;
    const answer = JSON.parse(raw) as CachedAnswer;
    return answer.expiresAt > Date.now() ? answer : undefined;
  }

  async set(address: AnswerAddress, answer: CachedAnswer): Promise<void> {
    const ttl = answer.expiresAt - Date.now();
    if (ttl > 0) await this.#redis.client.set(this.#key(address), JSON.stringify(answer), 'PX', ttl);
  }

  async purge(filter: PurgeFilter): Promise<number> {
    const model = filter.model === undefined ? '*' : globEscape(encodeURIComponent(filter.model));
    const patterns =
      filter.namespace === undefined
        ? [`cache:*:${model}:*`]
        : [`cache:${globEscape(filter.namespace)}:${model}:*`, `cache:${globEscape(filter.namespace)}.*:${model}:*`];
    let removed = 0;
    for (const pattern of patterns) {
      for (const key of await this.#redis.scan(pattern)) removed += await this.#redis.client.unlink(key);
    }
    return removed;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
