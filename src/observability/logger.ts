import pino, { type DestinationStream, type Logger } from 'pino';

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

/** A destination that also takes a line without its newline (the access log's), sparing a concatenation. */
export interface LineDestination extends DestinationStream {
  writeLine(line: string): void;
}

/**
 * Lines are encoded straight into a buffer and go out together, in order, as one write every
 * FLUSH_MS (or once the buffer is full): under load, a write per access-log line (or per
 * event-loop turn, about the same) costs a system call, a thread-pool hand-off and a wake-up of
 * whatever reads stdout, and gathering strings first costs copies and scans of them.
 */
class BatchedLines implements LineDestination {
  readonly #sink: Sink;
  #slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  #used = 0;
  #scheduled: NodeJS.Timeout | undefined;
  readonly #writePending = (): void => {
    if (this.#scheduled !== undefined) clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#used === 0) return;
    const filled = this.#slab.subarray(0, this.#used);
    // The sink holds on to these bytes until they are written: later lines go into a new buffer.
    this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    this.#used = 0;
    this.#sink.write(filled as unknown as string);
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

  write(text: string): void {
    this.#append(text, false);
  }

  writeLine(line: string): void {
    this.#append(line, true);
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
    // UTF-8 takes at most three bytes per UTF-16 code unit: without room for that, what is pending goes first.
    const most = text.length * 3 + 1;
    if (this.#used + most > this.#slab.length) {
      this.#writePending();
      if (most > this.#slab.length) {
        this.#sink.write(Buffer.from(newline ? `${text}\n` : text) as unknown as string);
        return;
      }
    }
    this.#used += this.#slab.write(text, this.#used);
    if (newline) this.#slab[this.#used++] = 0x0a;
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
