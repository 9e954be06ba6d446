import { describe, expect, it } from 'vitest';
import { ContextCache } from './cache.ts';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

describe('ContextCache', () => {
  it('makes one load for a burst of misses (single flight) and serves hits after it', async () => {
    const cache = new ContextCache(10);
    let loads = 0;
    const gate = deferred<void>();
    const load = async () => {
      loads++;
      await gate.promise;
      return { value: 'v', ttlMs: 1000 };
    };
    const burst = Array.from({ length: 20 }, () => cache.get('k', load));
    gate.resolve();
    expect(await Promise.all(burst)).toEqual(Array(20).fill('v'));
    expect(await cache.get('k', load)).toBe('v');
    expect(loads).toBe(1);
  });

  it('expires entries after their TTL', async () => {
    let now = 0;
    const cache = new ContextCache(10, () => now);
    let loads = 0;
    const load = async () => ({ value: ++loads, ttlMs: 100 });
    expect(await cache.get('k', load)).toBe(1);
    now = 99;
    expect(await cache.get('k', load)).toBe(1);
    now = 100;
    expect(await cache.get('k', load)).toBe(2);
  });

  it('drops entries on invalidation, and never stores a load that started before it', async () => {
    const cache = new ContextCache(10);
    const slow = deferred<void>();
    const stale = cache.get('resource\0a', async () => {
      await slow.promise;
      return { value: 'old', ttlMs: 1000 };
    });
    cache.invalidatePrefix('resource\0');
    slow.resolve();
    expect(await stale).toBe('old');
    expect(cache.peek('resource\0a')).toBeUndefined();
    expect(await cache.get('resource\0a', async () => ({ value: 'new', ttlMs: 1000 }))).toBe('new');
  });

  it('does not cache failures, and bounds its size', async () => {
    const cache = new ContextCache(2);
    await expect(cache.get('x', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('x', async () => ({ value: 1, ttlMs: 1000 }))).toBe(1);
    await cache.get('y', async () => ({ value: 2, ttlMs: 1000 }));
    await cache.get('z', async () => ({ value: 3, ttlMs: 1000 }));
    expect(cache.size).toBe(2);
    expect(cache.peek('x')).toBeUndefined();
  });
});
