import { Buffer } from 'node:buffer';

const LF = 0x0a;
const CR = 0x0d;
const CR_CR = Buffer.from('\r\r');
const NOTHING = Buffer.alloc(0);

/**
 * Passes an event stream on in whole events only: the bytes of an event the last chunk ends in the
 * middle of wait for the rest of it (its blank line), so a stream cut mid-event leaves the caller
 * no partial event for the gateway's error event to garble. A chunk that ends on an event's end
 * (as upstreams write them) passes as it is, after one look at its last bytes; one that does not is
 * searched backwards, line break to line break, for its last blank line. Any line ending SSE
 * allows (LF, CRLF, CR) ends a line.
 */
export class WholeEvents {
  /** The start of an event not yet whole; undefined when the bytes so far end on an event's end. */
  #held: Buffer[] | undefined;
  #heldBytes = 0;
  /** The stream's last two bytes so far (0 for none), for a blank line split between two chunks. */
  #last = 0;
  #beforeLast = 0;

  /** The whole events this chunk completes (with what was held before it); possibly none. */
  push(chunk: Buffer): Buffer {
    const length = chunk.length;
    if (length === 0) return NOTHING;
    const held = this.#held;
    let end = endsEvent(chunk, length) ? length : lastEventEnd(chunk);
    if (end === -1 && held !== undefined) end = this.#blankLineAcross(chunk);
    this.#beforeLast = length > 1 ? (chunk[length - 2] as number) : this.#last;
    this.#last = chunk[length - 1] as number;
    if (end === -1) {
      this.#hold(chunk);
      return NOTHING;
    }
    const whole = held === undefined ? (end === length ? chunk : chunk.subarray(0, end)) : this.#joined(held, chunk, end);
    this.#held = undefined;
    this.#heldBytes = 0;
    if (end < length) this.#hold(chunk.subarray(end));
    return whole;
  }

  /** What is held when the stream ends: its last event, unfinished (with no blank line after it). */
  flush(): Buffer {
    const held = this.#held;
    if (held === undefined) return NOTHING;
    const rest = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, this.#heldBytes);
    this.#held = undefined;
    this.#heldBytes = 0;
    return rest;
  }

  #hold(bytes: Buffer): void {
    (this.#held ??= []).push(bytes);
    this.#heldBytes += bytes.length;
  }

  #joined(held: Buffer[], chunk: Buffer, end: number): Buffer {
    held.push(end === chunk.length ? chunk : chunk.subarray(0, end));
    return Buffer.concat(held, this.#heldBytes + end);
  }

  /**
   * Just past a blank line that begins in the bytes held and ends in the chunk (0: one the held
   * bytes end with, now that the chunk shows their last CR is no CRLF's); -1 when there is none.
   */
  #blankLineAcross(chunk: Buffer): number {
    const first = chunk[0];
    const second = chunk[1];
    // (A CR the chunk ends with may be a CRLF's first half: its blank line waits for the next byte.)
    if (this.#last === LF) {
      if (first === LF) return 1;
      if (first === CR) return second === LF ? 2 : second === undefined ? -1 : 1;
      return -1;
    }
    if (this.#last !== CR) return -1;
    const lineBefore = this.#beforeLast === LF;
    if (first === LF) {
      // A CRLF split after its CR: blank after a line break, else blank when another line break follows it.
      if (lineBefore) return 1;
      if (second === LF) return 2;
      if (second === CR) return chunk[2] === LF ? 3 : chunk.length > 2 ? 2 : -1;
      return -1;
    }
    // The held CR ends a line by itself: another line break after it, or one before it, makes a blank line.
    if (first === CR) return second === LF ? 2 : 1;
    return lineBefore ? 0 : -1;
  }
}

/** Whether the chunk's last bytes are a blank line's end (LF LF, LF CR LF, CR CR). */
function endsEvent(chunk: Buffer, length: number): boolean {
  const last = chunk[length - 1];
  const before = chunk[length - 2];
  if (last === LF) return before === LF || (before === CR && chunk[length - 3] === LF);
  return last === CR && before === CR;
}

/**
 * Just past the last blank line whose bytes all come before `limit` (the whole chunk when left
 * out); -1 when there is none. Shared with the stream filters that need an event's bounds.
 */
export function lastEventEnd(chunk: Buffer, limit: number = chunk.length): number {
  if (limit < 2) return -1;
  let lf = chunk.lastIndexOf(LF, limit - 1);
  if (lf === -1) {
    // No LF at all: CR-only line endings, maybe.
    const crs = chunk.lastIndexOf(CR_CR, limit - 2);
    return crs === -1 ? -1 : crs + 2;
  }
  while (lf > 0) {
    if (endsBlankLine(chunk, lf)) return lf + 1;
    lf = chunk.lastIndexOf(LF, lf - 1);
  }
  return -1;
}

/**
 * Just past the first blank line after `from` (a byte inside an event's line, not a line break);
 * -1 when there is none: the end of the event `from` is in, in bytes of whole events.
 */
export function nextEventEnd(bytes: Buffer, from: number): number {
  let lf = bytes.indexOf(LF, from);
  if (lf === -1) {
    // No LF after it: CR-only line endings, maybe.
    const crs = bytes.indexOf(CR_CR, from);
    return crs === -1 ? -1 : crs + 2;
  }
  while (lf !== -1) {
    const next = bytes[lf + 1];
    if (next === LF) return lf + 2;
    if (next === CR && bytes[lf + 2] === LF) return lf + 3;
    lf = bytes.indexOf(LF, lf + 1);
  }
  return -1;
}

/** Whether the LF at `lf` ends a blank line (LF LF, LF CR LF). */
function endsBlankLine(bytes: Buffer, lf: number): boolean {
  const before = bytes[lf - 1];
  return before === LF || (before === CR && bytes[lf - 2] === LF);
}
