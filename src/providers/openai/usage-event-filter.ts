import { Buffer } from 'node:buffer';
import { lastEventEnd, nextEventEnd } from '../whole-events.ts';

const USAGE_OBJECT = Buffer.from('"usage":{');
const NO_CHOICES = Buffer.from('"choices":[]');

/**
 * Removes the usage-only chunk (`"choices":[]` with a `"usage":{...}` object) from an
 * OpenAI stream whose caller did not ask for usage, when the gateway asked for it to
 * know the cost. It reads whole events, as `WholeEvents` passes them on (the last one
 * possibly unfinished, at the stream's end), with any line ending SSE allows; bytes pass
 * through as they come, after one search for the usage pattern, and only an event that
 * has it is looked at more closely. The key patterns cannot occur inside JSON strings,
 * where quotes are escaped. A usage object riding on a chunk with choices is left as it is.
 */
export class UsageEventFilter {
  /** The bytes to forward for these whole events (possibly none). */
  push(events: Buffer): Buffer {
    let usageAt = events.indexOf(USAGE_OBJECT);
    if (usageAt === -1) return events;
    let kept: Buffer[] | undefined;
    let keptFrom = 0;
    while (usageAt !== -1) {
      const start = Math.max(lastEventEnd(events, usageAt), 0);
      const eventEnd = nextEventEnd(events, usageAt);
      const end = eventEnd === -1 ? events.length : eventEnd;
      if (events.subarray(start, end).indexOf(NO_CHOICES) !== -1) {
        (kept ??= []).push(events.subarray(keptFrom, start));
        keptFrom = end;
      }
      usageAt = end < events.length ? events.indexOf(USAGE_OBJECT, end) : -1;
    }
    if (kept === undefined) return events;
    kept.push(events.subarray(keptFrom));
    return Buffer.concat(kept);
  }
}
