import pino, { type Logger } from 'pino';

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

/**
 * JSON lines on stdout, written asynchronously so logging never blocks a request. Lines are
 * gathered into writes of a few kilobytes (a system call per access-log line would cost more
 * than the line), and flushed at least every FLUSH_MS and when the gateway stops.
 */
const BATCH_BYTES = 4096;
const FLUSH_MS = 200;

export function createLogger(level: string): Logger {
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    pino.destination({ dest: 1, sync: false, minLength: BATCH_BYTES, periodicFlush: FLUSH_MS }),
  );
}
