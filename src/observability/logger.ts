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
/** What a queued record is reckoned to take until it is serialized. */
const RECORD_BYTES_ESTIMATE = 512;
/** The longest a line waits; short enough to tail, long enough to gather a busy gateway's lines. */
const FLUSH_MS = 20;

/** A destination that also takes records to serialize as JSON lines when they go out (the access log's). */
export interface RecordDestination extends DestinationStream {
  writeRecord(record: object): void;
}

/**
 * Lines go out together, in order, as one write every FLUSH_MS (or once about SLAB_BYTES are
 * waiting): under load, a write per access-log line (or per event-loop turn, about the same)
 * costs a system call, a thread-pool hand-off and a wake-up of whatever reads stdout. Records
 * are serialized only then, one after another, and every line is encoded straight into the
 * buffer that is written: a tight loop over a batch costs less than the same work spread over
 * the requests, and no string is built only to be copied again.
 */
class BatchedLines implements RecordDestination {
  readonly #sink: Sink;
  /** Pino's lines (text, newline included) and records (objects), in the order they came. */
  #queue: Array<string | object> = [];
  #queuedBytes = 0;
  #scheduled: NodeJS.Timeout | undefined;
  readonly #writePending = (): void => {
    if (this.#scheduled !== undefined) clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    this.#queuedBytes = 0;
    let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    let used = 0;
    for (const item of queue) {
      const text = typeof item === 'string' ? item : JSON.stringify(item);
      const newline = typeof item === 'string' ? 0 : 1;
      // UTF-8 takes at most three bytes per UTF-16 code unit: without room for that, the buffer goes first.
      const most = text.length * 3 + newline;
      if (used + most > slab.length) {
        // The sink holds on to written bytes until they are out: later lines go into a new buffer.
        if (used > 0) this.#sink.write(slab.subarray(0, used) as unknown as string);
        slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
        used = 0;
        if (most > slab.length) {
          this.#sink.write(Buffer.from(newline === 1 ? `${text}\n` : text) as unknown as string);
          continue;
        }
      }
      used += slab.write(text, used);
      if (newline === 1) slab[used++] = 0x0a;
    }
    if (used > 0) this.#sink.write(slab.subarray(0, used) as unknown as string);
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
    this.#enqueue(text, text.length);
  }

  writeRecord(record: object): void {
    this.#enqueue(record, RECORD_BYTES_ESTIMATE);
  }

  flush(callback?: (error?: Error) => void): void {
    this.#writePending();
    this.#sink.flush(callback);
  }

  flushSync(): void {
    this.#writePending();
    this.#sink.flushSync();
  }

  #enqueue(item: string | object, bytes: number): void {
    this.#queue.push(item);
    this.#queuedBytes += bytes;
    if (this.#queuedBytes >= SLAB_BYTES) this.#writePending();
    // Unreferenced: pending lines never keep the process alive; they are flushed at exit.
    else this.#scheduled ??= setTimeout(this.#writePending, FLUSH_MS).unref();
  }
}

/** JSON lines on stdout, written asynchronously so logging never blocks a request. */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    new BatchedLines(pino.destination({ dest: 1, sync: false, contentMode: 'buffer' })),
  );
}
