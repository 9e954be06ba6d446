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

/** JSON lines on stdout, written asynchronously so logging never blocks a request. */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    pino.destination({ dest: 1, sync: false }),
  );
}
