import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerConfig } from '../config/schema.ts';
import { requestHeader } from './request-headers.ts';

const ALLOWED_HEADERS =
  'authorization, content-type, x-request-id, x-lightport-provider, x-lightport-base-url, x-lightport-key, x-lightport-metadata, x-lightport-tags';
const EXPOSED_HEADERS = 'x-request-id, x-lightport-provider, x-lightport-model, x-lightport-attempts, x-lightport-cost-usd';

/** Adds CORS headers for allowed origins; answers preflights. Returns true when the request is done. */
export function applyCors(cors: ServerConfig['cors'], req: IncomingMessage, res: ServerResponse): boolean {
  const origin = requestHeader(req, 'origin');
  if (cors === false || origin === undefined) return false;
  const allowed = cors.origins.includes('*') || cors.origins.includes(origin);
  if (!allowed) return false;
  res.setHeader('access-control-allow-origin', cors.origins.includes('*') ? '*' : origin);
  res.setHeader('vary', 'Origin');
  res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(204, {
    'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
    'access-control-allow-headers': requestHeader(req, 'access-control-request-headers') ?? ALLOWED_HEADERS,
    'access-control-max-age': String(cors.max_age_s),
  });
  res.end();
  return true;
}
