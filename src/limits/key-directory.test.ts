import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.ts';
import { KeyDirectory, type CompileKey } from './key-directory.ts';
import { callerKey, sha256 } from './keys.ts';
import type { KeyChange, KeyStore, StoredKey } from './store.ts';

const compile: CompileKey = (entry, stored) => ({
  ...entry,
  caller: callerKey(entry.name, entry.policy),
  mcpAllow: undefined,
  limits: undefined,
  budgets: [],
  ...(stored === undefined ? {} : { stored }),
});

/**
 * A store whose answers the test releases one by one, in any order: as PostgreSQL answers queries
 * sent on different pooled connections. Each query reads or writes the rows when it is sent.
 */
class HeldStore implements KeyStore {
  readonly rows = new Map<string, StoredKey>();
  readonly held: Array<() => void> = [];
  hold = false;

  #answer<T>(value: T): Promise<T> {
    if (!this.hold) return Promise.resolve(value);
    return new Promise((resolve) => this.held.push(() => resolve(value)));
  }

  listKeys(since: number): Promise<StoredKey[]> {
    return this.#answer([...this.rows.values()].filter((row) => row.updatedAt >= since));
  }

  insertKey(key: StoredKey): Promise<boolean> {
    if (this.rows.has(key.name)) return this.#answer(false);
    this.rows.set(key.name, key);
    return this.#answer(true);
  }

  updateKey(name: string, change: KeyChange, at: number): Promise<StoredKey | undefined> {
    const row = this.rows.get(name);
    if (row === undefined) return this.#answer(undefined);
    const next: StoredKey = {
      ...row,
      sha256: change.sha256 ?? row.sha256,
      hint: change.hint ?? row.hint,
      revokedAt: change.revokedAt ?? row.revokedAt,
      updatedAt: at,
    };
    this.rows.set(name, next);
    return this.#answer(next);
  }
}

async function directoryWithKey(): Promise<{ store: HeldStore; directory: KeyDirectory; secret: string }> {
  const store = new HeldStore();
  const directory = new KeyDirectory({ configKeys: [], store, compile, refreshMs: 60_000, logger: createLogger('silent') });
  await directory.start();
  const { secret } = await directory.create('app', { metadata: {}, models: ['*'], mcp: { servers: ['*'], tools: {} }, budgets: [] });
  return { store, directory, secret };
}

const holds = (directory: KeyDirectory, secret: string): boolean => directory.get('app')?.sha256.equals(sha256(secret)) === true;
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyDirectory', () => {
  it('keeps a rotation made while a refresh was reading: the old secret does not come back', async () => {
    const { store, directory, secret: old } = await directoryWithKey();
    store.hold = true;
    const refreshed = directory.refresh(); // reads the row before the rotation
    const rotated = directory.rotate('app');
    await tick();
    const [answerRefresh, answerRotate] = store.held.splice(0);
    answerRotate?.();
    const { secret } = await rotated;
    answerRefresh?.();
    await refreshed;
    directory.stop();
    expect(holds(directory, secret)).toBe(true);
    expect(holds(directory, old)).toBe(false);
  });

  it('keeps a revocation made while a refresh was reading', async () => {
    const { store, directory } = await directoryWithKey();
    store.hold = true;
    const refreshed = directory.refresh();
    const revoked = directory.revoke('app');
    await tick();
    const [answerRefresh, answerRevoke] = store.held.splice(0);
    answerRevoke?.();
    await revoked;
    answerRefresh?.();
    await refreshed;
    directory.stop();
    expect(directory.get('app')?.revoked).toBe(true);
  });

  it('ends concurrent admin changes of a key as the store does, whatever order the store answers in', async () => {
    const { store, directory } = await directoryWithKey();
    store.hold = true;
    const rotated = directory.rotate('app');
    const revoked = directory.revoke('app');
    // Release whatever is waiting, newest first, until both changes are done.
    const state = { done: false };
    void Promise.allSettled([rotated, revoked]).then(() => (state.done = true));
    while (!state.done) {
      await tick();
      for (const answer of store.held.splice(0).toReversed()) answer();
    }
    directory.stop();
    const row = store.rows.get('app');
    expect(row?.revokedAt).toBeDefined();
    expect(directory.get('app')?.revoked).toBe(true);
    expect(directory.get('app')?.sha256.toString('hex')).toBe(row?.sha256);
  });
});
