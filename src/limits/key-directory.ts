import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ConfigKey } from '../config/limits-schema.ts';
import type { McpAllowlist } from '../mcp/policy.ts';
import type { Logger } from '../observability/logger.ts';
import type { CallerKey, RequestContext } from '../pipeline/context.ts';
import { GatewayError } from '../server/errors.ts';
import type { BudgetSpec } from './budgets.ts';
import { generateKey, keyHint, KeyRing, sha256, type KeyEntry, type KeyPolicy } from './keys.ts';
import type { LimitSpec } from './plan.ts';
import type { KeyStore, StoredKey } from './store.ts';
import { blankRequestHeader, requestHeader } from '../server/request-headers.ts';
import { Buffer } from 'node:buffer';

/** A key with what the stage compiled for it once: the caller view, its limits and budgets. */
export interface AuthorizedKey extends KeyEntry {
  readonly caller: CallerKey;
  /** For the MCP stage: the servers and tools this key may use, or undefined for all. */
  readonly mcpAllow: McpAllowlist | undefined;
  readonly limits: LimitSpec | undefined;
  readonly budgets: readonly BudgetSpec[];
  readonly stored?: StoredKey;
}

export type CompileKey = (entry: KeyEntry, stored?: StoredKey) => AuthorizedKey;

/** A new or rotated key: the only time its secret is seen. */
export interface IssuedKey {
  readonly secret: string;
  readonly key: AuthorizedKey;
}

// Rows are re-read from a little before the last refresh, so a write that committed late is not missed.
const REFRESH_OVERLAP_MS = 10_000;

/**
 * Every key the gateway accepts: from YAML (fixed) and from the store (made through the
 * admin API, picked up from other replicas every `refresh_ms`). Authentication is a map
 * lookup and a constant-time comparison, with no I/O.
 */
export class KeyDirectory {
  readonly #ring = new KeyRing<AuthorizedKey>();
  readonly #store: KeyStore | undefined;
  readonly #compile: CompileKey;
  readonly #logger: Logger;
  readonly #refreshMs: number;
  #watermark = 0;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  /** Admin changes made here run one after another, so the ring ends as the store does. */
  #writes: Promise<unknown> = Promise.resolve();
  /** Counts admin changes made here; by name, the count at each key's last one. */
  #changes = 0;
  readonly #changedAt = new Map<string, number>();

  constructor(options: { configKeys: readonly ConfigKey[]; store?: KeyStore; compile: CompileKey; refreshMs: number; logger: Logger }) {
    this.#store = options.store;
    this.#compile = options.compile;
    this.#logger = options.logger;
    this.#refreshMs = options.refreshMs;
    for (const key of options.configKeys) {
      const digest = key.key_sha256 === undefined ? sha256(key.key ?? '') : Buffer.from(key.key_sha256, 'hex');
      const { name, key: _secret, key_sha256: _digest, ...policy } = key;
      this.#ring.put(this.#compile({ name, sha256: digest, source: 'config', revoked: false, policy }));
    }
  }

  get hasStore(): boolean {
    return this.#store !== undefined;
  }

  async start(): Promise<void> {
    if (this.#store === undefined) return;
    await this.refresh();
    this.#timer = setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.#logger.warn({ err_message: (error as Error).message }, 'could not refresh keys from the store'),
      );
    }, this.#refreshMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Picks up keys changed in the store; one refresh at a time, so an older read never lands after a newer one. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    if (this.#store === undefined) return;
    const startedAt = Date.now();
    const changes = this.#changes;
    const keys = await this.#store.listKeys(Math.max(0, this.#watermark - REFRESH_OVERLAP_MS));
    for (const stored of keys) {
      // A key changed here while the rows were read: what was read is older (the next refresh reads it again).
      if ((this.#changedAt.get(stored.name) ?? -1) >= changes) continue;
      this.#adopt(stored);
    }
    this.#watermark = startedAt;
  }

  /** The request's key, or a 401 that says what is wrong without saying which keys exist. */
  authenticate(context: RequestContext): AuthorizedKey {
    const credential = takeCredential(context.req);
    const socket = context.req.socket as VerifyingSocket;
    const last = socket[VERIFIED];
    // The same credential again on a keep-alive connection: it is compared only with what this connection
    // sent before (so timing tells a caller nothing new), as the header's text, before any parsing; and
    // the entry must still be the ring's (not rotated or revoked).
    if (
      last !== undefined &&
      credential !== undefined &&
      last.credential.text === credential.text &&
      last.credential.inKeyHeader === credential.inKeyHeader &&
      this.#ring.get(last.key.name) === last.key
    ) {
      return last.key;
    }
    const secret = credential === undefined ? undefined : secretOf(credential);
    if (secret === undefined) {
      throw new GatewayError(
        'missing_gateway_key',
        'This gateway needs a Lightport key: send it as "Authorization: Bearer <key>" or in the x-lightport-key header.',
      );
    }
    const verdict = this.#ring.verify(secret);
    switch (verdict.kind) {
      case 'valid':
        socket[VERIFIED] = { credential: credential as Credential, key: verdict.key };
        return verdict.key;
      case 'revoked':
        throw new GatewayError('revoked_gateway_key', 'This Lightport key has been revoked; ask an administrator for a new one.');
      case 'unknown':
        throw new GatewayError('invalid_gateway_key', 'The Lightport key is not valid. Check for a typo or a key that was rotated.');
    }
  }

  get(name: string): AuthorizedKey | undefined {
    return this.#ring.get(name);
  }

  list(): AuthorizedKey[] {
    return [...this.#ring.entries()].toSorted((a, b) => a.name.localeCompare(b.name));
  }

  create(name: string, policy: KeyPolicy): Promise<IssuedKey> {
    return this.#serialized(name, () => this.#create(name, policy));
  }

  rotate(name: string): Promise<IssuedKey> {
    return this.#serialized(name, () => this.#rotate(name));
  }

  revoke(name: string): Promise<AuthorizedKey> {
    return this.#serialized(name, () => this.#revoke(name));
  }

  /**
   * Runs one admin change after those before it (answers from a pool of store connections could
   * otherwise arrive out of order and leave the older row in the ring: a rotated or revoked key working again).
   */
  #serialized<T>(name: string, change: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(async () => {
      // Marked as it starts and as it ends: a refresh that overlapped it in any way may have read the row before it.
      this.#changedAt.set(name, this.#changes++);
      try {
        return await change();
      } finally {
        this.#changedAt.set(name, this.#changes++);
      }
    });
    this.#writes = run.catch(() => undefined);
    return run;
  }

  async #create(name: string, policy: KeyPolicy): Promise<IssuedKey> {
    const store = this.#requireStore();
    if (this.#ring.get(name) !== undefined) throw conflict(name);
    const secret = generateKey();
    const now = Date.now();
    const stored: StoredKey = {
      name,
      sha256: sha256(secret).toString('hex'),
      hint: keyHint(secret),
      policy,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await store.insertKey(stored))) throw conflict(name);
    return { secret, key: this.#adopt(stored) };
  }

  async #rotate(name: string): Promise<IssuedKey> {
    this.#requireChangeable(name);
    if (this.#ring.get(name)?.revoked === true) {
      throw new GatewayError(
        'key_conflict',
        `Key '${name}' is revoked, and a new secret for it would be refused too; create a new key instead.`,
      );
    }
    const secret = generateKey();
    const stored = await this.#requireStore().updateKey(
      name,
      { sha256: sha256(secret).toString('hex'), hint: keyHint(secret) },
      Date.now(),
    );
    if (stored === undefined) throw notFound(name);
    return { secret, key: this.#adopt(stored) };
  }

  async #revoke(name: string): Promise<AuthorizedKey> {
    this.#requireChangeable(name);
    const now = Date.now();
    const stored = await this.#requireStore().updateKey(name, { revokedAt: now }, now);
    if (stored === undefined) throw notFound(name);
    return this.#adopt(stored);
  }

  #adopt(stored: StoredKey): AuthorizedKey {
    const existing = this.#ring.get(stored.name);
    if (existing?.source === 'config') {
      this.#logger.warn({ key_name: stored.name }, 'a stored key has the name of a key in the config file; the config key wins');
      return existing;
    }
    const entry = this.#compile(
      {
        name: stored.name,
        sha256: Buffer.from(stored.sha256, 'hex'),
        source: 'admin',
        revoked: stored.revokedAt !== undefined,
        policy: stored.policy,
      },
      stored,
    );
    this.#ring.put(entry);
    return entry;
  }

  #requireStore(): KeyStore {
    if (this.#store === undefined) throw new GatewayError('admin_disabled', 'Keys cannot be managed here: this gateway has no key store.');
    return this.#store;
  }

  #requireChangeable(name: string): void {
    const key = this.#ring.get(name);
    if (key === undefined) throw notFound(name);
    if (key.source === 'config') {
      throw new GatewayError('key_conflict', `Key '${name}' is defined in the config file; change it there.`);
    }
  }
}

const VERIFIED = Symbol('lightport.verifiedKey');
interface Verified {
  readonly credential: Credential;
  readonly key: AuthorizedKey;
}
type VerifyingSocket = Socket & { [VERIFIED]?: Verified };

/** The header that carried the key, as sent. */
interface Credential {
  readonly text: string;
  readonly inKeyHeader: boolean;
}

/**
 * The header that carries the key: x-lightport-key, else Authorization (a Bearer one, checked when
 * its secret is read). It is blanked in the request so nothing later can forward or log it.
 */
function takeCredential(req: IncomingMessage): Credential | undefined {
  const header = requestHeader(req, 'x-lightport-key');
  if (header !== undefined && header !== '') {
    blankRequestHeader(req, 'x-lightport-key');
    return { text: header, inKeyHeader: true };
  }
  const authorization = requestHeader(req, 'authorization');
  if (authorization === undefined) return undefined;
  blankRequestHeader(req, 'authorization');
  return { text: authorization, inKeyHeader: false };
}

const BEARER = /^bearer\s/i;

/** The key itself; none in an Authorization that is not Bearer. */
function secretOf(credential: Credential): string | undefined {
  if (!credential.inKeyHeader && !BEARER.test(credential.text)) return undefined;
  const secret = (credential.inKeyHeader ? credential.text : credential.text.slice(7)).trim();
  return secret === '' ? undefined : secret;
}

function conflict(name: string): GatewayError {
  return new GatewayError('key_conflict', `A key named '${name}' already exists.`, { param: 'name' });
}

function notFound(name: string): GatewayError {
  return new GatewayError('key_not_found', `There is no key named '${name}'.`);
}
