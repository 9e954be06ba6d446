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

/** The bucket of `positions` holding the least after this request, or -1 when there is none. */
function tightest(positions: readonly number[], remaining: readonly number[]): number {
  let found = -1;
  for (const position of positions) {
    if (found === -1 || (remaining[position] ?? 0) < (remaining[found] ?? 0)) found = position;
  }
  return found;
}

/**
 * Sets x-ratelimit-{limit,remaining,reset}-{requests,tokens} from the tightest bucket of each kind.
 * The names are written out, not computed: a store under a computed name goes through V8's
 * generic (megamorphic) path, six times a request.
 */
export function setRateHeaders(
  headers: Record<string, string>,
  buckets: ReadonlyArray<{ readonly capacity: number }>,
  requestPositions: readonly number[],
  tokenPositions: readonly number[],
  remaining: readonly number[],
): void {
  const requests = tightest(requestPositions, remaining);
  const requestBucket = buckets[requests];
  if (requestBucket !== undefined) {
    const left = remaining[requests] ?? 0;
    headers['x-ratelimit-limit-requests'] = String(requestBucket.capacity);
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, Math.floor(left)));
    headers['x-ratelimit-reset-requests'] = formatDuration(resetMs(requestBucket.capacity, left));
  }
  const tokens = tightest(tokenPositions, remaining);
  const tokenBucket = buckets[tokens];
  if (tokenBucket !== undefined) {
    const left = remaining[tokens] ?? 0;
    headers['x-ratelimit-limit-tokens'] = String(tokenBucket.capacity);
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, Math.floor(left)));
    headers['x-ratelimit-reset-tokens'] = formatDuration(resetMs(tokenBucket.capacity, left));
  }
}
