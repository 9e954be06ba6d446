import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A dependency loaded on first use, not at start-up. For the heavy ones only some configs need
 * (Azure identity, the MCP client, Redis, PostgreSQL): a gateway that never uses them starts
 * faster and keeps a smaller heap, which every major garbage collection then marks. Loading is
 * synchronous (each has a CommonJS build), so constructors can stay synchronous; every user of
 * a package goes through its one loader, so `instanceof` sees one copy of its classes.
 */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}

/** Redis's client, shared by the state backend and the circuit sharing. */
export const ioredis = lazyModule<typeof import('ioredis')>('ioredis');
