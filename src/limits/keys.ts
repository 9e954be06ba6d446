import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { BudgetConfig, LimitSet } from '../config/limits-schema.ts';
import type { McpAllowlist } from '../mcp/policy.ts';
import type { CallerKey } from '../pipeline/context.ts';
import { compileGlobs } from './glob.ts';

/** What a key may do and what limits it: the same for keys in YAML and keys made through the admin API. */
export interface KeyPolicy {
  readonly team?: string | undefined;
  readonly metadata: Readonly<Record<string, string | number | boolean>>;
  readonly models: readonly string[];
  readonly mcp: { readonly servers: readonly string[]; readonly tools: Readonly<Record<string, readonly string[]>> };
  readonly limits?: LimitSet | undefined;
  readonly budgets: readonly BudgetConfig[];
}

export type KeySource = 'config' | 'admin';

/** A key as the gateway holds it: never the secret, only its SHA-256. */
export interface KeyEntry {
  readonly name: string;
  readonly sha256: Buffer;
  readonly source: KeySource;
  readonly revoked: boolean;
  readonly policy: KeyPolicy;
}

export const KEY_PREFIX = 'lp-';

export function sha256(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

/** A new key: `lp-` and 32 characters of base64url (192 random bits). */
export function generateKey(): string {
  return `${KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
}

/** What listings show of a key: enough to tell keys apart, far too little to use. */
export function keyHint(secret: string): string {
  return `${secret.slice(0, KEY_PREFIX.length + 4)}…${secret.slice(-4)}`;
}

export function callerKey(name: string, policy: KeyPolicy): CallerKey {
  const allServers = policy.mcp.servers.includes('*');
  const servers = new Set(policy.mcp.servers);
  const toolsByServer = new Map(Object.entries(policy.mcp.tools));
  return {
    name,
    team: policy.team,
    metadata: policy.metadata,
    models: policy.models,
    mcp: policy.mcp,
    allowsModel: compileGlobs(policy.models),
    allowsMcp: (server, tool) => {
      const tools = toolsByServer.get(server);
      if (tools !== undefined) return tool === undefined || tools.includes(tool);
      return allServers || servers.has(server);
    },
  };
}

/** What the MCP stage narrows its selection to for this key; undefined when the key may use every server and tool. */
export function mcpAllowlist(mcp: KeyPolicy['mcp']): McpAllowlist | undefined {
  const restricted = Object.keys(mcp.tools);
  const allServers = mcp.servers.includes('*');
  if (allServers && restricted.length === 0) return undefined;
  return {
    ...(allServers ? {} : { servers: [...new Set([...mcp.servers, ...restricted])] }),
    ...(restricted.length === 0 ? {} : { tools: mcp.tools }),
  };
}

/** How a presented key was judged. */
export type KeyVerdict<T> = { readonly kind: 'valid'; readonly key: T } | { readonly kind: 'revoked' } | { readonly kind: 'unknown' };

const INDEX_BYTES = 8;

/**
 * Keys by the digest of their secret. The map is indexed by the first 8 bytes of the
 * digest; the whole digest is then compared in constant time, so lookup timing depends
 * on a hash of the secret, never on the secret's bytes.
 */
export class KeyRing<T extends KeyEntry> {
  readonly #byIndex = new Map<string, T[]>();
  readonly #byName = new Map<string, T>();

  verify(secret: string): KeyVerdict<T> {
    const digest = sha256(secret);
    const candidates = this.#byIndex.get(digest.toString('latin1', 0, INDEX_BYTES));
    const found = candidates?.find((entry) => timingSafeEqual(entry.sha256, digest));
    if (found === undefined) return { kind: 'unknown' };
    return found.revoked ? { kind: 'revoked' } : { kind: 'valid', key: found };
  }

  get(name: string): T | undefined {
    return this.#byName.get(name);
  }

  /** Adds a key or replaces the one with the same name (a rotation drops the old digest). */
  put(entry: T): void {
    this.delete(entry.name);
    this.#byName.set(entry.name, entry);
    const index = entry.sha256.toString('latin1', 0, INDEX_BYTES);
    const bucket = this.#byIndex.get(index);
    if (bucket === undefined) this.#byIndex.set(index, [entry]);
    else bucket.push(entry);
  }

  delete(name: string): void {
    const old = this.#byName.get(name);
    if (old === undefined) return;
    this.#byName.delete(name);
    const index = old.sha256.toString('latin1', 0, INDEX_BYTES);
    const rest = (this.#byIndex.get(index) ?? []).filter((entry) => entry !== old);
    if (rest.length === 0) this.#byIndex.delete(index);
    else this.#byIndex.set(index, rest);
  }

  entries(): IterableIterator<T> {
    return this.#byName.values();
  }
}
