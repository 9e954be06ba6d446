import { z } from 'zod';
import { keyNameSchema, keyPolicyFields } from '../config/limits-schema.ts';
import type { RequestContext } from '../pipeline/context.ts';
import { parseWith } from '../pipeline/validate.ts';
import { requireAdmin } from '../server/admin-auth.ts';
import { readJsonBody } from '../server/body.ts';
import { GatewayError } from '../server/errors.ts';
import { sendJson } from '../server/respond.ts';
import type { AuthorizedKey, IssuedKey, KeyDirectory } from './key-directory.ts';
import type { SpendStore } from './store.ts';
import { decodePathSegment } from '../server/path-segment.ts';

const newKeySchema = z.strictObject({ name: keyNameSchema, ...keyPolicyFields });
const ADMIN_BODY_LIMIT = 64 * 1024;
const KEY_PATH = /^\/admin\/keys\/([^/]+)(?:\/(rotate|revoke))?$/;

export interface AdminApiParts {
  /** admin.key of the running config (a reload may change it). */
  readonly adminKey: () => string | undefined;
  readonly directory: KeyDirectory;
  readonly spend: SpendStore | undefined;
  /** Writes pending spend to the store, so a listing shows it. */
  readonly flushSpend: () => Promise<void>;
  /** The current day, week and month period ids: what /admin/spend shows without ?period=. */
  readonly currentPeriods: () => string[];
  readonly status: () => Record<string, unknown>;
}

type AdminHandler = (context: RequestContext) => Promise<void> | void;

/**
 * /admin/keys (create, list without secrets, rotate, revoke), /admin/spend and /admin/limits,
 * behind the admin key. A key's secret appears once, in the answer that made it.
 */
export class KeysAdminApi {
  readonly #parts: AdminApiParts;

  constructor(parts: AdminApiParts) {
    this.#parts = parts;
  }

  /** The handler for a path this API owns, or undefined for any other path. */
  match(method: string, path: string): AdminHandler | undefined {
    const handler = this.#route(method, path);
    if (handler === undefined) return undefined;
    return (context) => {
      requireAdmin(context.req.headers, this.#parts.adminKey());
      return handler(context);
    };
  }

  #route(method: string, path: string): AdminHandler | undefined {
    const { directory } = this.#parts;
    if (path === '/admin/keys') {
      if (method === 'GET') return (context) => reply(context, 200, { object: 'list', data: directory.list().map(keyView) });
      if (method === 'POST') return (context) => this.#create(context);
      return methodNotAllowed(path, ['GET', 'POST']);
    }
    if (path === '/admin/spend') return method === 'GET' ? (context) => this.#spend(context) : methodNotAllowed(path, ['GET']);
    if (path === '/admin/limits')
      return method === 'GET' ? (context) => reply(context, 200, this.#parts.status()) : methodNotAllowed(path, ['GET']);
    const match = KEY_PATH.exec(path);
    if (match === null) return undefined;
    const name = decodePathSegment(match[1] ?? '');
    const action = match[2];
    if (action === undefined) {
      return method === 'GET'
        ? (context) => reply(context, 200, keyView(found(directory.get(name), name)))
        : methodNotAllowed(path, ['GET']);
    }
    if (method !== 'POST') return methodNotAllowed(path, ['POST']);
    if (action === 'rotate') return async (context) => reply(context, 200, issuedView(await directory.rotate(name)));
    return async (context) => reply(context, 200, keyView(await directory.revoke(name)));
  }

  async #create(context: RequestContext): Promise<void> {
    const body = await readJsonBody(context, ADMIN_BODY_LIMIT);
    const { name, ...policy } = parseWith(newKeySchema, body);
    reply(context, 201, issuedView(await this.#parts.directory.create(name, policy)));
  }

  async #spend(context: RequestContext): Promise<void> {
    const store = this.#parts.spend;
    if (store === undefined) return reply(context, 200, { object: 'list', data: [] });
    await this.#parts.flushSpend();
    const url = new URL(context.req.url ?? '/', 'http://admin');
    const asked = url.searchParams.getAll('period');
    const periods = asked.length > 0 ? asked : this.#parts.currentPeriods();
    const rows = await store.readSpend(periods);
    reply(context, 200, { object: 'list', data: rows.map((row) => ({ ...row, usd: Math.round(row.usd * 1e6) / 1e6 })) });
  }
}

function reply(context: RequestContext, status: number, body: unknown): void {
  sendJson(context.res, status, body, context.headers);
}

function methodNotAllowed(path: string, allowed: readonly string[]): AdminHandler {
  return (context) => {
    context.headers['allow'] = allowed.join(', ');
    throw new GatewayError('method_not_allowed', `Use ${allowed.join(' or ')} on ${path}.`);
  };
}

function found(key: AuthorizedKey | undefined, name: string): AuthorizedKey {
  if (key === undefined) throw new GatewayError('key_not_found', `There is no key named '${name}'.`);
  return key;
}

function issuedView(issued: IssuedKey): Record<string, unknown> {
  return { key: issued.secret, ...keyView(issued.key) };
}

function iso(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString();
}

function keyView(key: AuthorizedKey): Record<string, unknown> {
  const { policy, stored } = key;
  return {
    object: 'lightport.key',
    name: key.name,
    source: key.source,
    hint: stored?.hint ?? null,
    revoked: key.revoked,
    team: policy.team ?? null,
    metadata: policy.metadata,
    models: policy.models,
    mcp: policy.mcp,
    limits: policy.limits ?? null,
    budgets: policy.budgets,
    created_at: iso(stored?.createdAt),
    updated_at: iso(stored?.updatedAt),
    revoked_at: iso(stored?.revokedAt),
  };
}
