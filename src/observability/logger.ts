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

/** Lines waiting past this size go out at once, without waiting for the timer. */
const FLUSH_BYTES = 64 * 1024;
/** The longest a line waits; short enough to tail, long enough to gather a busy gateway's lines. */
const FLUSH_MS = 20;

/**
 * Lines go out together, in order, as one write every FLUSH_MS (or sooner past FLUSH_BYTES):
 * under load, a write per access-log line (or per event-loop turn, which is about the same)
 * costs a system call, a thread-pool hand-off and a wake-up of whatever reads stdout.
 */
class BatchedLines implements DestinationStream {
  readonly #sink: Sink;
  #pending: string[] = [];
  #pendingBytes = 0;
  #scheduled: NodeJS.Timeout | undefined;
  readonly #writePending = (): void => {
    if (this.#scheduled !== undefined) clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
    this.#pendingBytes = 0;
    if (this.#pending.length === 0) return;
    const text = this.#pending.length === 1 ? (this.#pending[0] ?? '') : this.#pending.join('');
    this.#pending = [];
    this.#sink.write(text);
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

  write(line: string): void {
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= FLUSH_BYTES) this.#writePending();
    // Unreferenced: pending lines never keep the process alive; they are flushed at exit.
    else this.#scheduled ??= setTimeout(this.#writePending, FLUSH_MS).unref();
  }

  flush(callback?: (error?: Error) => void): void {
    this.#writePending();
    this.#sink.flush(callback);
  }

  flushSync(): void {
    this.#writePending();
    this.#sink.flushSync();
  }
}

/** JSON lines on stdout, written asynchronously so logging never blocks a request. */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    new BatchedLines(pino.destination({ dest: 1, sync: false })),
  );
}
