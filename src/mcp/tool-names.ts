import { createHash } from 'node:crypto';

/** OpenAI (and most providers) accept function names of 1–64 of these characters. */
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_LENGTH = 64;
const HASH_LENGTH = 8;

/**
 * The name a model sees for an MCP tool: `<server>__<tool>`. A name that is too long or
 * holds characters providers reject is shortened to a readable prefix plus a hash of the
 * full pair, so it stays unique and stable. The gateway keeps a reverse map and never
 * parses the name back.
 */
export function exposedToolName(server: string, tool: string): string {
  const plain = `${server}__${tool}`;
  if (FUNCTION_NAME.test(plain)) return plain;
  const hash = createHash('sha256').update(`${server}\0${tool}`).digest('hex').slice(0, HASH_LENGTH);
  const safe = plain.replace(/[^A-Za-z0-9_-]/g, '_');
  return `${safe.slice(0, MAX_LENGTH - HASH_LENGTH - 1)}_${hash}`;
}
