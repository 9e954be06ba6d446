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

/** Lines waiting past this size go out at once, without waiting for the end of the turn. */
const FLUSH_BYTES = 64 * 1024;

/**
 * Lines logged in one turn of the event loop go out together, in order, as one write at the
 * end of that turn (or sooner past FLUSH_BYTES): under load, one write per access-log line
 * costs a system call and a wake-up of whatever reads stdout for every request.
 */
class BatchedLines implements DestinationStream {
  readonly #sink: Sink;
  #pending: string[] = [];
  #pendingBytes = 0;
  #scheduled: NodeJS.Immediate | undefined;
  readonly #writePending = (): void => {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
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
    else this.#scheduled ??= setImmediate(this.#writePending);
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
