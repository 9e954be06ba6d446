import { classifyError } from '../providers/upstream-errors.ts';
import type { AttemptOutcome, UpstreamErrorClass } from '../providers/types.ts';
import type { RetryPolicy, Target } from './route.ts';

/** Why an attempt did not answer the request: sent as x-lightport-fallback-reason. */
export type FailureReason =
  'unreachable' | 'timeout' | 'rate_limit' | 'overloaded' | 'server_error' | 'context_length' | 'circuit_open' | `status_${number}`;

export type HealthResult = 'success' | 'failure' | 'neutral';

export type Verdict =
  /** The client gets this outcome: a success, an answer already started, or an error no other target would fix. */
  | { readonly kind: 'final'; readonly health: HealthResult }
  /** Another attempt may do better: the same target again (`retry`), or only the next one. */
  | {
      readonly kind: 'again';
      readonly reason: FailureReason;
      readonly health: HealthResult;
      readonly retry: boolean;
      readonly retryAfterMs?: number;
    };

const AGAIN = (reason: FailureReason, retry = true, health: HealthResult = 'failure'): Verdict => ({
  kind: 'again',
  reason,
  health,
  retry,
});

/**
 * Judges one attempt. Before the first byte reached the client, connection errors,
 * timeouts, 429, 5xx, overload and the configured statuses try again (the same target
 * while it has attempts left, then the next); a context-length error moves straight to a
 * target with a larger window. After the first byte nothing is tried again.
 */
const SUCCESS: Verdict = { kind: 'final', health: 'success' };

export function judge(outcome: AttemptOutcome, target: Target, committed: boolean, requestAborted: boolean): Verdict {
  if (outcome.kind === 'ok') return SUCCESS;
  if (committed) return { kind: 'final', health: outcome.kind === 'cancelled' && requestAborted ? 'neutral' : 'failure' };
  switch (outcome.kind) {
    case 'cancelled':
      return requestAborted ? { kind: 'final', health: 'neutral' } : AGAIN('timeout');
    case 'broken':
      return AGAIN('unreachable');
    case 'failed':
      if (outcome.code === 'upstream_not_allowed') return { kind: 'final', health: 'neutral' };
      return AGAIN(outcome.code === 'upstream_timeout' ? 'timeout' : 'unreachable');
    case 'upstream_error':
      return judgeUpstreamError(
        outcome,
        outcome.errorClass ??
          classifyError(outcome.status, {
            message: outcome.body.error.message,
            kind: outcome.body.error.type,
            code: outcome.body.error.code ?? undefined,
          }),
        target,
      );
  }
}

function judgeUpstreamError(
  outcome: Extract<AttemptOutcome, { kind: 'upstream_error' }>,
  errorClass: UpstreamErrorClass,
  target: Target,
): Verdict {
  switch (errorClass) {
    case 'context_length':
      return AGAIN('context_length', false, 'neutral');
    case 'rate_limit':
      return outcome.retryAfterMs === undefined
        ? AGAIN('rate_limit')
        : { kind: 'again', reason: 'rate_limit', health: 'failure', retry: true, retryAfterMs: outcome.retryAfterMs };
    case 'overloaded':
    case 'server': {
      const reason = errorClass === 'server' ? 'server_error' : 'overloaded';
      return outcome.retryAfterMs === undefined
        ? AGAIN(reason)
        : { kind: 'again', reason, health: 'failure', retry: true, retryAfterMs: outcome.retryAfterMs };
    }
    case 'auth':
    case 'bad_request':
    case 'not_found':
      return target.failOn.has(outcome.status) ? AGAIN(`status_${outcome.status}`) : { kind: 'final', health: 'neutral' };
  }
}

/**
 * How long to wait before retry number `retry` (1-based) of the same target: the upstream's
 * Retry-After when it gave one (undefined when that is over the cap: move on instead), else
 * exponential backoff with full jitter.
 */
export function retryDelay(policy: RetryPolicy, retry: number, retryAfterMs: number | undefined, random = Math.random): number | undefined {
  if (retryAfterMs !== undefined) return retryAfterMs <= policy.retryAfterMaxMs ? retryAfterMs : undefined;
  const ceiling = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (retry - 1));
  return Math.round(random() * ceiling);
}
