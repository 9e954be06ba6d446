import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';

/**
 * A connection to the local Redis for one test file, and fresh keys under a prefix of its own
 * (one hash tag, as the gateway's keys have), deleted when the file's tests are done.
 */
export function testRedis(name: string): { readonly redis: Redis; readonly prefix: string; readonly key: (what: string) => string } {
  const prefix = `{lp-${name}-${randomUUID().slice(0, 8)}}:`;
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  let unique = 0;
  return { redis, prefix, key: (what) => `${prefix}${what}:${unique++}` };
}
