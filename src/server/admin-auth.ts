import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from './errors.ts';

/**
 * Checks the admin key: `Authorization: Bearer <key>` or `x-lightport-admin-key`.
 * Both sides are hashed first so the comparison takes the same time whatever the
 * length or content of the key presented.
 */
export function requireAdmin(headers: IncomingHttpHeaders, adminKey: string | undefined): void {
  if (adminKey === undefined) {
    throw new GatewayError('admin_disabled', 'The admin API is off; set admin.key in the config to turn it on.');
  }
  const presented = bearer(headers.authorization) ?? single(headers['x-lightport-admin-key']);
  if (presented === undefined || !sameSecret(presented, adminKey)) {
    throw new GatewayError('admin_unauthorized', 'The admin API needs the admin key (Authorization: Bearer <admin.key>).');
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

function bearer(header: string | undefined): string | undefined {
  return header?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
}

function single(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && header !== '' ? header : undefined;
}
