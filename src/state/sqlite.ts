import { Worker } from 'node:worker_threads';
import type { SqlDatabase, SqlValue } from './sql.ts';
import type { SqliteReply, SqliteRequest } from './sqlite-protocol.ts';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Call = WithoutId<SqliteRequest>;

/** The worker's own file: `.ts` when running from sources, `.js` once built. */
const WORKER_URL = new URL(`./sqlite-worker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);

/** A `node:sqlite` database in a worker thread: every call is a message, none touches the disk on the caller's thread. */
export function openSqlite(path: string): SqlDatabase {
  const worker = new Worker(WORKER_URL, { workerData: { path } });
  worker.unref();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | undefined;

  const failAll = (error: Error): void => {
    failure = error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: SqliteReply) => {
    const waiting = pending.get(reply.id);
    if (waiting === undefined) return;
    pending.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.result);
    else waiting.reject(new Error(reply.error));
  });
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new Error('the SQLite worker stopped')));

  /** `transfer`: buffers that move to the worker instead of being copied (the caller must not touch them again). */
  const call = (request: Call, transfer: readonly ArrayBuffer[] = []): Promise<unknown> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker, not a window
      worker.postMessage({ ...request, id }, transfer);
    });
  };

  return {
    dialect: 'sqlite',
    exec: async (sql) => {
      await call({ op: 'exec', sql });
    },
    query: async <Row>(sql: string, params: readonly SqlValue[] = []) => (await call({ op: 'query', sql, params })) as Row[],
    run: async (sql, params = []) => (await call({ op: 'run', sql, params })) as number,
    insertMany: async (table, columns, rows) => {
      const json = rows.json();
      // Moved, not copied: a batch is a few hundred kilobytes, and a copy is that many fresh pages in the worker.
      await call({ op: 'insertMany', table, columns, rows: json }, [json.buffer as ArrayBuffer]);
    },
    close: async () => {
      if (!failure) await call({ op: 'close' }).catch(() => {});
      await worker.terminate();
    },
  };
}
