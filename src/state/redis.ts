import { Redis } from 'ioredis';

export interface RedisOptions {
  readonly url: string;
  /** A command slower than this fails, so a hung Redis reads as a down one. */
  readonly timeoutMs: number;
  /** Called with each connection error; ioredis keeps reconnecting in the background. */
  readonly onError: (error: Error) => void;
}

/**
 * A Redis connection that fails fast instead of queueing: while Redis is unreachable,
 * commands reject at once so the caller's fallback policy decides, never a growing queue.
 * No auto-pipelining: callers batch their own work into single commands, and ioredis's
 * pipeline object per tick would only add cost.
 */
export function createRedis(options: RedisOptions): Redis {
  const redis = new Redis(options.url, {
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
