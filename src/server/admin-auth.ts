import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GatewayError } from './errors.ts';

export interface AdminConfig {
  readonly key?: string | undefined;
}

/**
 * Admits a request to the admin APIs when it carries the configured admin key as a
 * bearer token. Digests are compared so the check takes the same time whatever the
 * key's length or how much of it matches.
 */
export function requireAdmin(req: IncomingMessage, admin: AdminConfig): void {
  if (!admin.key) {
    throw new GatewayError('admin_disabled', 'Admin APIs are off: set admin.key in the config (e.g. key: ${LIGHTPORT_ADMIN_KEY}).');
  }
  const presented = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
  if (presented === undefined || !sameSecret(presented, admin.key)) {
    throw new GatewayError('invalid_admin_key', 'This endpoint needs the admin key in the Authorization header (Bearer).');
  }
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}
