import { setTimeout as sleep } from 'node:timers/promises';
import { attemptFinished, requestFinished, type AttemptErrorClass, type AttemptFinished } from '../observability/events.ts';
import type { Pricing } from '../observability/pricing.ts';
import type { AttemptOptions, AttemptOutcome } from '../providers/types.ts';
import type { Target } from '../router/route.ts';
import { judge, retryDelay, type FailureReason, type Verdict } from '../router/retry-policy.ts';
import { GatewayError } from '../server/errors.ts';
import type { RequestContext } from './context.ts';
import { finish, sendGatewayError } from './finish.ts';
import { RequestAbort } from './request-abort.ts';
import { DeferredResponse } from './response-sink.ts';
import { performance } from 'node:perf_hooks';
import { headerValue } from '../server/header-value.ts';

export type Send = (target: Target, options: AttemptOptions) => Promise<AttemptOutcome>;

export interface Delivery {
  /** The targets to try, in order (a route's plan for this request). */
  readonly targets: readonly Target[];
  readonly send: Send;
  readonly callerApiKey?: string;
  /** A passthrough upstream's base URL (its provider is named by type only), for the cache's key. */
  readonly passthroughUrl?: string;
  /** The model's own deadline, when shorter than the server's. */
  readonly deadlineMs?: number;
  /** What a target's tokens cost, for the answer's x-lightport-cost-usd. */
  readonly pricing?: Pricing;
}

interface Progress {
  attempts: number;
  fallbackReason: FailureReason | undefined;
  last: { readonly target: Target; readonly outcome: AttemptOutcome } | undefined;
  /** After a context-length error: only targets with a larger window are tried. */
  windowAbove: number | undefined;
  /** Soonest an open circuit among the skipped targets lets a probe through. */
  soonestProbeMs: number | undefined;
}

/**
 * Runs attempts over the plan until one answers or the plan is exhausted, all within the
 * request's deadline, then turns the last outcome into the response. Retries and
 * fallbacks happen only while nothing has reached the client.
 */
export function deliver(context: RequestContext, delivery: Delivery): Promise<void> {
  // The model's own deadline, when shorter than the server's: the server's deadline sweep enforces it.
  if (delivery.deadlineMs !== undefined) context.deadlineAt = Math.min(context.deadlineAt, context.startedAt + delivery.deadlineMs);
  return runPlan(context, delivery);
}

/** One async frame for the whole plan: attempts are begun and judged by the synchronous steps around the one await. */
async function runPlan(context: RequestContext, delivery: Delivery): Promise<void> {
  const progress: Progress = { attempts: 0, fallbackReason: undefined, last: undefined, windowAbove: undefined, soonestProbeMs: undefined };
  const { targets } = delivery;
  const tried = targets.length > 1 ? new Set<string>() : undefined;
  for (const target of targets) {
    if (tried !== undefined) {
      if (tried.has(target.id)) continue;
      tried.add(target.id);
    }
    if (progress.windowAbove !== undefined && (target.facts?.context_window ?? 0) <= progress.windowAbove) continue;
    const now = performance.now();
    if (!target.health.circuit.admit(now)) {
      const remaining = target.health.circuit.remainingMs(now);
      progress.soonestProbeMs = Math.min(progress.soonestProbeMs ?? remaining, remaining);
      progress.fallbackReason = 'circuit_open';
      continue;
    }
    for (let round = 1; ; round++) {
      const attempt = beginAttempt(context, delivery, target, progress, round > 1);
      let outcome: AttemptOutcome;
      try {
        outcome = await delivery.send(target, attempt.options);
      } catch (error) {
        target.health.end('neutral', 0, performance.now());
        throw error;
      } finally {
        attempt.limit?.release();
      }
      const { verdict, final } = endAttempt(context, attempt, outcome);
      if (verdict.kind === 'final') {
        if (final.kind === 'ok') attempt.sink.complete(final.usage);
        else if (attempt.sink.failure === undefined) finish(context, final); // else the sink ended it with its error event
        return;
      }
      const next = nextStep(context, target, progress, { outcome: final, verdict, round });
      if (next === 'next_target') {
        if (context.abort.signal.aborted) {
          finish(context, { kind: 'cancelled' });
          return;
        }
        progress.fallbackReason = verdict.reason;
        break;
      }
      if (next !== 'retry_now') await sleep(next, undefined, { signal: context.abort.signal }).catch(() => undefined);
      if (context.abort.signal.aborted) {
        finish(context, { kind: 'cancelled' });
        return;
      }
    }
  }
  answerExhausted(context, progress);
}

interface Attempt {
  readonly target: Target;
  readonly retry: boolean;
  readonly progress: Progress;
  readonly sink: DeferredResponse;
  readonly options: AttemptOptions;
  readonly limit: { release(): void } | undefined;
  readonly startedAt: number;
}

function beginAttempt(context: RequestContext, delivery: Delivery, target: Target, progress: Progress, retry: boolean): Attempt {
  progress.attempts++;
  markAttempt(context, delivery, target, progress);
  const sink = new DeferredResponse(context);
  const limit = target.totalTimeoutMs === undefined ? undefined : attemptLimit(context, target.totalTimeoutMs);
  const options: AttemptOptions = {
    upstreamModel: target.upstreamModel,
    sink,
    signal: limit?.abort.signal ?? context.abort.signal,
    abortHooks: limit?.abort ?? context.abort,
    requestId: context.id,
    callerApiKey: delivery.callerApiKey,
    firstByteTimeoutMs: target.firstByteTimeoutMs,
    idleTimeoutMs: target.idleTimeoutMs,
  };
  target.health.begin();
  return { target, retry, progress, sink, options, limit, startedAt: performance.now() };
}

/** Judges the attempt, updates the target's health, and says what the client would get from it. */
function endAttempt(context: RequestContext, attempt: Attempt, outcome: AttemptOutcome): { verdict: Verdict; final: AttemptOutcome } {
  const { target, sink, startedAt } = attempt;
  const endedAt = performance.now();
  // The sink ended the answer with an error event the caller already has (an ingress writer's, for a
  // translated stream that never finished): a failure of the target, as a cut stream is; nothing more to send.
  if (outcome.kind === 'ok' && sink.failure !== undefined) outcome = ENDED_WITH_ERROR;
  context.upstreamMs += endedAt - startedAt;
  const verdict = judge(outcome, target, sink.committed, context.abort.signal.aborted);
  target.health.end(verdict.health, (sink.startedAt || endedAt) - startedAt, endedAt);
  if (outcome.kind === 'ok' && outcome.usage) context.usage = outcome.usage;
  // A stream cut after it reached the client: the tokens it had reported are spent all the same.
  if (sink.committed && outcome.kind === 'broken' && outcome.usage) sink.record(outcome.usage);
  if (!sink.committed && outcome.kind === 'broken')
    outcome = { kind: 'failed', code: 'upstream_unreachable', message: 'The upstream connection closed before the answer started.' };
  if (!sink.committed && outcome.kind === 'cancelled' && !context.abort.signal.aborted)
    outcome = { kind: 'failed', code: 'upstream_timeout', message: `The upstream did not answer within ${target.totalTimeoutMs} ms.` };
  if (attemptFinished.hasSubscribers || requestFinished.hasSubscribers) recordAttempt(context, attempt, outcome, verdict, endedAt);
  return { verdict, final: outcome };
}

const ENDED_WITH_ERROR: AttemptOutcome = { kind: 'broken', message: 'The answer ended with an error event.' };

/** After a failed attempt: the same target again (now, or after a delay in ms), or the next target. */
function nextStep(
  context: RequestContext,
  target: Target,
  progress: Progress,
  failed: { outcome: AttemptOutcome; verdict: Verdict & { kind: 'again' }; round: number },
): 'next_target' | 'retry_now' | number {
  const { verdict, round } = failed;
  progress.last = { target, outcome: failed.outcome };
  if (verdict.reason === 'context_length') progress.windowAbove = target.facts?.context_window ?? 0;
  if (!verdict.retry || round >= target.retry.attempts) return 'next_target';
  const delay = retryDelay(target.retry, round, verdict.retryAfterMs);
  if (delay === undefined || performance.now() + delay >= context.deadlineAt) return 'next_target';
  return delay > 0 ? delay : 'retry_now';
}

function markAttempt(context: RequestContext, delivery: Delivery, target: Target, progress: Progress): void {
  // Assigned, never deleted: a delete would turn the context into a slow dictionary-mode object.
  context.price = delivery.pricing?.priceOf(target);
  context.provider = target.provider.name;
  context.providerType = target.provider.type;
  context.upstreamModel = target.upstreamModel;
  const headers = context.headers;
  headers['x-lightport-provider'] = target.provider.name;
  headers['x-lightport-model'] = headerValue(target.upstreamModel);
  headers['x-lightport-attempts'] = String(progress.attempts);
  if (progress.fallbackReason !== undefined) headers['x-lightport-fallback-reason'] = progress.fallbackReason;
}

/** Every target was skipped or failed: the last failure, or a 503 when every circuit was open. */
function answerExhausted(context: RequestContext, progress: Progress): void {
  if (progress.last !== undefined) {
    finish(context, progress.last.outcome);
    return;
  }
  if (progress.soonestProbeMs === undefined) {
    sendGatewayError(context, new GatewayError('targets_unavailable', `No target of model '${context.model}' can serve this request.`));
    return;
  }
  context.headers['retry-after'] = String(Math.max(1, Math.ceil(progress.soonestProbeMs / 1000)));
  if (progress.fallbackReason !== undefined) context.headers['x-lightport-fallback-reason'] = progress.fallbackReason;
  sendGatewayError(
    context,
    new GatewayError('targets_unavailable', `Every target of model '${context.model}' is failing (circuit open); try again shortly.`),
  );
}

/** A timer that aborts one attempt after `ms`, on top of the request's own signal. */
function attemptLimit(context: RequestContext, ms: number): { abort: RequestAbort; release(): void } {
  const abort = new RequestAbort();
  const forward = (): void => abort.abort(context.abort.signal.reason);
  context.abort.add(forward); // removed on release
  const timer = setTimeout(() => abort.abort('attempt_timeout'), ms);
  return {
    abort,
    release: () => {
      clearTimeout(timer);
      context.abort.remove(forward);
    },
  };
}

/** Keeps the attempt for the request's observers and publishes it to the attempt's own. */
function recordAttempt(context: RequestContext, attempt: Attempt, outcome: AttemptOutcome, verdict: Verdict, endedAt: number): void {
  const { target, progress } = attempt;
  const status = outcome.kind === 'ok' ? context.res.statusCode : outcome.kind === 'upstream_error' ? outcome.status : undefined;
  const event: AttemptFinished = {
    requestId: context.id,
    model: context.model,
    provider: target.provider.name,
    providerType: target.provider.type,
    upstreamModel: target.upstreamModel,
    target: target.id,
    attempt: progress.attempts,
    retry: attempt.retry,
    fallback: !attempt.retry && progress.fallbackReason !== undefined,
    outcome: outcome.kind,
    startMs: attempt.startedAt - context.startedAt,
    durationMs: endedAt - attempt.startedAt,
    status,
    errorClass: classify(outcome),
    failureReason: verdict.kind === 'again' ? verdict.reason : undefined,
  };
  (context.attempts ??= []).push(event);
  if (attemptFinished.hasSubscribers) attemptFinished.publish(event);
}

/** The upstream's own error class, or what happened when it gave no answer. */
function classify(outcome: AttemptOutcome): AttemptErrorClass | undefined {
  switch (outcome.kind) {
    case 'ok':
      return undefined;
    case 'upstream_error':
      if (outcome.errorClass !== undefined) return outcome.errorClass;
      if (outcome.status === 429) return 'rate_limit';
      return outcome.status >= 500 ? 'server' : 'bad_request';
    case 'failed':
      return outcome.code === 'upstream_timeout' ? 'timeout' : outcome.code === 'upstream_unreachable' ? 'unreachable' : 'not_allowed';
    case 'broken':
      return 'broken';
    case 'cancelled':
      return 'cancelled';
  }
}
