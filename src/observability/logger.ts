import pino, { type DestinationStream, type Logger } from 'pino';
import { Buffer } from 'node:buffer';

export type { Logger };

/** Headers and fields that carry secrets: censored wherever they would appear in a log line. */
const REDACTED_PATHS = [
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'headers["x-lightport-key"]',
  '*.api_key',
  '*.apiKey',
];

type Sink = ReturnType<typeof pino.destination>;

/** Bytes of lines gathered before they go out without waiting for the timer. */
const SLAB_BYTES = 64 * 1024;
/** The longest a line waits; short enough to tail, long enough to gather a busy gateway's lines. */
const FLUSH_MS = 20;
const NEWLINE = 0x0a;

/** A destination that also takes records to serialize as JSON lines (the access log's). */
export interface RecordDestination extends DestinationStream {
  writeRecord(record: object): void;
}

/**
 * Lines go out together, in order, as one write every FLUSH_MS (or once SLAB_BYTES are
 * waiting): under load, a write per access-log line (or per event-loop turn, about the same)
 * costs a system call, a thread-pool hand-off and a wake-up of whatever reads stdout. Each line
 * is encoded as it comes, straight into the buffer that will be written, outside the JavaScript
 * heap: a record kept as an object until its batch went out would live through garbage
 * collections, which copy it and, twice survived, move it to the old generation.
 */
class BatchedLines implements RecordDestination {
  readonly #sink: Sink;
  #slab: Buffer | undefined;
  #used = 0;
  #scheduled: NodeJS.Timeout | undefined;
  readonly #writePending = (): void => {
    if (this.#scheduled !== undefined) clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
    const slab = this.#slab;
    if (slab === undefined) return;
    // The sink holds on to written bytes until they are out: later lines go into a new buffer.
    this.#slab = undefined;
    if (this.#used > 0) this.#sink.write(slab.subarray(0, this.#used) as unknown as string);
    this.#used = 0;
  };

  constructor(sink: Sink) {
    this.#sink = sink;
    // Pino flushes its sink at exit; what is still pending here goes first.
    process.once('exit', () => {
      try {
        this.flushSync();
      } catch {
        // stdout is gone: nothing left to write to
      }
    });
  }

  /** Pino's lines, newline included. */
  write(text: string): void {
    this.#append(text, false);
  }

  writeRecord(record: object): void {
    this.#append(JSON.stringify(record), true);
  }

  flush(callback?: (error?: Error) => void): void {
    this.#writePending();
    this.#sink.flush(callback);
  }

  flushSync(): void {
    this.#writePending();
    this.#sink.flushSync();
  }

  #append(text: string, newline: boolean): void {
    // UTF-8 takes at most three bytes per UTF-16 code unit: without room for that, the buffer goes first.
    const most = text.length * 3 + (newline ? 1 : 0);
    if (this.#slab !== undefined && this.#used + most > this.#slab.length) this.#writePending();
    if (most > SLAB_BYTES) {
      this.#sink.write(Buffer.from(newline ? `${text}\n` : text) as unknown as string);
      return;
    }
    const slab = (this.#slab ??= Buffer.allocUnsafeSlow(SLAB_BYTES));
    this.#used += slab.write(text, this.#used);
    if (newline) slab[this.#used++] = NEWLINE;
    // Unreferenced: pending lines never keep the process alive; they are flushed at exit.
    this.#scheduled ??= setTimeout(this.#writePending, FLUSH_MS).unref();
  }
}

/** JSON lines on stdout, written asynchronously so logging never blocks a request. */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    new BatchedLines(pino.destination({ dest: 1, sync: false, contentMode: 'buffer' })),
  );
}
