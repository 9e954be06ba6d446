import { Buffer } from 'node:buffer';
/**
 * Anthropic tool ids must match ^[a-zA-Z0-9_-]+$, but other providers' ids may not (Gemini's carry
 * a base64 thought signature). Such ids are handed out base64url-encoded, which fits the pattern,
 * and decoded when the caller quotes them back, so the provider gets its own id again.
 */
const ENCODED = 'toolu_lp_';
const FITS = /^[a-zA-Z0-9_-]+$/;

export function toAnthropicToolId(id: string): string {
  return FITS.test(id) && !id.startsWith(ENCODED) ? id : ENCODED + Buffer.from(id, 'utf8').toString('base64url');
}

export function fromAnthropicToolId(id: string): string {
  return id.startsWith(ENCODED) ? Buffer.from(id.slice(ENCODED.length), 'base64url').toString('utf8') : id;
}
