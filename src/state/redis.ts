import type { Redis } from 'ioredis';
import { ioredis } from './lazy-module.ts';

/**
 * One Redis connection for commands and, lazily, one for subscriptions (a subscribed
 * connection can run nothing else). Commands fail fast instead of queueing while Redis is down.
 */
export class RedisBackend {
  readonly client: Redis;
  readonly prefix: string;
  readonly #url: string;
  #subscriber: Redis | undefined;

  constructor(url: string, prefix: string) {
    this.#url = url;
    this.prefix = prefix;
    this.client = new (ioredis().Redis)(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
    });
    this.client.on('error', () => undefined);
  }

  /** Calls `listener` with each message on `channel` (the prefix is added). */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    const subscriber = (this.#subscriber ??= new (ioredis().Redis)(this.#url, { maxRetriesPerRequest: null, connectTimeout: 2000 }));
    subscriber.on('error', () => undefined);
    const full = this.prefix + channel;
    subscriber.on('message', (from: string, message: string) => {
      if (from === full) listener(message);
    });
    await subscriber.subscribe(full);
  }

  publish(channel: string, message: string): Promise<number> {
    return this.client.publish(this.prefix + channel, message);
  }

  /** Every key matching `pattern` (prefix added), scanning without blocking Redis. */
  async scan(pattern: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.client.scan(cursor, 'MATCH', this.prefix + pattern, 'COUNT', 500);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    return keys;
  }

  async close(): Promise<void> {
    this.client.disconnect();
    this.#subscriber?.disconnect();
    await Promise.resolve();
  }
}

export interface FailFastRedisOptions {
  readonly url: string;
  /** A command slower than this fails, so a hung Redis reads as a down one. */
  readonly timeoutMs: number;
  /** Called with each connection error; ioredis keeps reconnecting in the background. */
  readonly onError: (error: Error) => void;
}

/**
 * A Redis connection for decisions that must not wait: while Redis is unreachable, commands
 * reject at once (no offline queue, no retries) so the caller's fallback policy decides.
 * No auto-pipelining: the caller batches its own work into single commands.
 */
export function createRedis(options: FailFastRedisOptions): Redis {
  const redis = new (ioredis().Redis)(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeoutMs,
    connectTimeout: 2000,
    enableAutoPipelining: false,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
  });
  redis.on('error', options.onError);
  return redis;
}

/** Connects, or reports why not; a Redis that is down at start-up is retried in the background. */
export async function connectRedis(redis: Redis): Promise<Error | undefined> {
  try {
    await redis.connect();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}
