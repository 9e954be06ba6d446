import { GatewayError } from './errors.ts';

/** A percent-encoded segment of a request path (a model name, a key name, an id); malformed escapes are the caller's error. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GatewayError('invalid_request', `The request path holds a malformed percent-escape: '${segment.slice(0, 200)}'.`);
  }
}
