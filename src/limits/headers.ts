import { MINUTE_MS } from './backend.ts';

/** Durations as OpenAI writes them in x-ratelimit-reset-*: `20ms`, `1.5s`, `6m0s`. */
export function formatDuration(ms: number): string {
  const rounded = Math.max(0, Math.ceil(ms));
  if (rounded < 1000) return `${rounded}ms`;
  if (rounded < MINUTE_MS) return `${rounded / 1000}s`;
  const minutes = Math.floor(rounded / MINUTE_MS);
  return `${minutes}m${(rounded - minutes * MINUTE_MS) / 1000}s`;
}

/** Until a bucket holding `remaining` of `capacity` is full again. */
export function resetMs(capacity: number, remaining: number): number {
  return ((capacity - Math.min(capacity, remaining)) * MINUTE_MS) / capacity;
}

const HEADER_NAMES = {
  requests: { limit: 'x-ratelimit-limit-requests', remaining: 'x-ratelimit-remaining-requests', reset: 'x-ratelimit-reset-requests' },
  tokens: { limit: 'x-ratelimit-limit-tokens', remaining: 'x-ratelimit-remaining-tokens', reset: 'x-ratelimit-reset-tokens' },
} as const;

/** Sets x-ratelimit-{limit,remaining,reset}-{requests,tokens} from the tightest bucket of that kind. */
export function setRateHeaders(
  headers: Record<string, string>,
  kind: 'requests' | 'tokens',
  buckets: ReadonlyArray<{ readonly capacity: number }>,
  positions: readonly number[],
  remaining: readonly number[],
): void {
  let tightest = -1;
  for (const position of positions) {
    if (tightest === -1 || (remaining[position] ?? 0) < (remaining[tightest] ?? 0)) tightest = position;
  }
  const bucket = buckets[tightest];
  if (bucket === undefined) return;
  const left = remaining[tightest] ?? 0;
  const names = HEADER_NAMES[kind];
  headers[names.limit] = String(bucket.capacity);
  headers[names.remaining] = String(Math.max(0, Math.floor(left)));
  headers[names.reset] = formatDuration(resetMs(bucket.capacity, left));
}
