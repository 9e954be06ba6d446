import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { sha256 } from '../limits/keys.ts';
import { GatewayError } from './errors.ts';

/**
 * The admin API's guard: the key from `admin.key`, presented as `Authorization: Bearer <key>`
 * or `x-lightport-admin-key`, compared in constant time (both sides hashed to equal length).
 */
export class AdminAuth {
  readonly #expected: Buffer | undefined;

  constructor(adminKey: string | undefined) {
    this.#expected = adminKey === undefined || adminKey === '' ? undefined : sha256(adminKey);
  }

  get enabled(): boolean {
    return this.#expected !== undefined;
  }

  /** Throws 404 when the admin API is off, 401 unless the request carries the admin key. */
  check(req: IncomingMessage): void {
    if (this.#expected === undefined) {
      throw new GatewayError('admin_disabled', 'The admin API is off: set admin.key in the config (from ${LIGHTPORT_ADMIN_KEY}).');
    }
    const presented = presentedKey(req);
    if (presented === undefined) {
      throw new GatewayError(
        'admin_unauthorized',
        'The admin API needs the admin key: "Authorization: Bearer <key>" or x-lightport-admin-key.',
      );
    }
    if (!timingSafeEqual(sha256(presented), this.#expected)) throw new GatewayError('admin_unauthorized', 'The admin key is not valid.');
  }
}

function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-lightport-admin-key'];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = req.headers.authorization;
  if (authorization === undefined || !/^bearer\s/i.test(authorization)) return undefined;
  const key = authorization.slice(7).trim();
  return key === '' ? undefined : key;
}
