import { Buffer } from 'node:buffer';
const EVENT_END = Buffer.from('\n\n');
const USAGE_OBJECT = Buffer.from('"usage":{');
const NO_CHOICES = Buffer.from('"choices":[]');
const NOTHING = Buffer.alloc(0);

/**
 * Removes the usage-only chunk (`"choices":[]` with a `"usage":{...}` object) from an
 * OpenAI stream whose caller did not ask for usage, when the gateway asked for it to
 * know the cost. Bytes pass through as they arrive; only an event split across reads
 * waits for its end. The key patterns cannot occur inside JSON strings, where quotes are
 * escaped. A usage object riding on a chunk with choices is left as it is.
 */
export class UsageEventFilter {
  #partial: Buffer | undefined;

  /** The bytes to forward for this upstream chunk (possibly none). */
  push(chunk: Buffer): Buffer {
    const data = this.#partial === undefined ? chunk : Buffer.concat([this.#partial, chunk]);
    const boundary = data.lastIndexOf(EVENT_END);
    if (boundary === -1) {
      this.#partial = data;
      return NOTHING;
    }
    const completeEnd = boundary + EVENT_END.length;
    this.#partial = completeEnd < data.length ? data.subarray(completeEnd) : undefined;
    const complete = completeEnd < data.length ? data.subarray(0, completeEnd) : data;
    const usageAt = complete.indexOf(USAGE_OBJECT);
    if (usageAt === -1) return complete;
    const previousEnd = complete.lastIndexOf(EVENT_END, usageAt);
    const start = previousEnd === -1 ? 0 : previousEnd + EVENT_END.length;
    const end = complete.indexOf(EVENT_END, usageAt) + EVENT_END.length;
    if (complete.subarray(start, end).indexOf(NO_CHOICES) === -1) return complete;
    return Buffer.concat([complete.subarray(0, start), complete.subarray(end)]);
  }

  /** Whatever is left when the stream ends (an unterminated last event). */
  flush(): Buffer {
    const rest = this.#partial ?? NOTHING;
    this.#partial = undefined;
    return rest;
  }
}
