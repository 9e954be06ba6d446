import type { SqlValue } from './sql.ts';
import { Buffer } from 'node:buffer';

const CHUNK_BYTES = 64 * 1024;
const OPEN = 0x5b; // [
const COMMA = 0x2c;
const EMPTY = Buffer.from('[]');
const CLOSE = Buffer.from(']');

/**
 * Rows waiting to be written, kept as the UTF-8 JSON text of one array, in memory outside the
 * JavaScript heap. A row held as an array of values is a few dozen heap objects that the
 * garbage collector copies and scans for as long as the row waits for its batch; its text
 * outside the heap costs the collector nothing. Written once, read once (by `json()`).
 */
export class EncodedRows {
  readonly #full: Buffer[] = [];
  #chunk: Buffer | undefined;
  #used = 0;
  #count = 0;

  get count(): number {
    return this.#count;
  }

  push(row: readonly SqlValue[]): void {
    const text = JSON.stringify(row);
    // A UTF-16 code unit is at most three UTF-8 bytes; one more for the separator.
    const most = text.length * 3 + 1;
    let chunk = this.#chunk;
    if (chunk === undefined || this.#used + most > chunk.length) {
      if (chunk !== undefined) this.#full.push(chunk.subarray(0, this.#used));
      chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, most));
      this.#chunk = chunk;
      this.#used = 0;
    }
    chunk[this.#used++] = this.#count === 0 ? OPEN : COMMA;
    this.#used += chunk.write(text, this.#used);
    this.#count++;
  }

  /**
   * The rows as one JSON array of arrays, UTF-8, in an array that owns its whole ArrayBuffer
   * (never a view of Node's shared pool), so it can be transferred to a worker instead of copied.
   */
  json(): Uint8Array {
    const parts = this.#chunk === undefined ? [EMPTY] : [...this.#full, this.#chunk.subarray(0, this.#used), CLOSE];
    let length = 0;
    for (const part of parts) length += part.length;
    const json = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      json.set(part, at);
      at += part.length;
    }
    return json;
  }

  static of(rows: readonly (readonly SqlValue[])[]): EncodedRows {
    const encoded = new EncodedRows();
    for (const row of rows) encoded.push(row);
    return encoded;
  }
}

/** The rows of `EncodedRows.json()`. */
export function decodeRows(json: Uint8Array): SqlValue[][] {
  return JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8')) as SqlValue[][];
}
