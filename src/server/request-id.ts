import { randomFillSync } from 'node:crypto';
import { Buffer } from 'node:buffer';

const IDS_PER_FILL = 128;
const random = Buffer.allocUnsafeSlow(16 * IDS_PER_FILL);
let nextId = IDS_PER_FILL;
const text = Buffer.allocUnsafeSlow(36);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;

/**
 * A random version 4 UUID for a request that brought no id of its own. Node's `randomUUID()`
 * returns its text as a chain of two-character pieces, and every response header value is checked
 * with a regular expression, which first copies such a chain into one string: this one is made as
 * one string to begin with (its bytes written into a buffer, then read out), from random bytes
 * drawn a few kilobytes at a time as Node draws them.
 */
export function newRequestId(): string {
  if (nextId === IDS_PER_FILL) {
    randomFillSync(random);
    nextId = 0;
  }
  const from = nextId++ * 16;
  let out = 0;
  for (let index = 0; index < 16; index++) {
    if (index === 4 || index === 6 || index === 8 || index === 10) text[out++] = DASH;
    let byte = random[from + index] as number;
    if (index === 6)
      byte = (byte & 0x0f) | 0x40; // version 4
    else if (index === 8) byte = (byte & 0x3f) | 0x80; // RFC 9562 variant
    text[out++] = HEX[byte >> 4] as number;
    text[out++] = HEX[byte & 0x0f] as number;
  }
  return text.toString('latin1', 0, 36);
}
