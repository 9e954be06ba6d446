import { setTimeout as sleep } from 'node:timers/promises';
import { attemptFinished, requestFinished, type AttemptErrorClass, type AttemptFinished } from '../observability/events.ts';
import type { ModelPrice } from '../observability/pricing.ts';
import type { AttemptOptions, AttemptOutcome } from '../providers/types.ts';
import type { Target } from '../router/route.ts';
import { judge, retryDelay, type FailureReason, type Verdict } from '../router/retry-policy.ts';
import { GatewayError } from '../server/errors.ts';
import type { RequestContext } from './context.ts';
import { finish, sendGatewayError } from './finish.ts';
import { DeferredResponse } from './response-sink.ts';

export type Send = (target: Target, options: AttemptOptions) => Promise<AttemptOutcome>;

export interface Delivery {
  /** The targets to try, in order (a route's plan for this request). */
  readonly targets: readonly Target[];
  readonly send: Send;
  readonly callerApiKey?: string;
  /** The model's own deadline, when shorter than the server's. */
  readonly deadlineMs?: number;
  /** What a target's tokens cost, for the answer's x-lightport-cost-usd. */
  readonly price?: (target: Target) => ModelPrice | undefined;
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
export async function deliver(context: RequestContext, delivery: Delivery): Promise<void> {
  const deadline = delivery.deadlineMs === undefined ? undefined : shortenDeadline(context, delivery.deadlineMs);
  try {
    await runPlan(context, delivery);
  } finally {
    if (deadline !== undefined) clearTimeout(deadline);
  }
}

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
    const reason = await tryTarget(context, delivery, target, progress);
    if (reason === undefined) return;
    if (context.abort.signal.aborted) {
      finish(context, { kind: 'cancelled' });
      return;
    }
    progress.fallbackReason = reason;
  }
  answerExhausted(context, progress);
}

/** Attempts on one target; undefined once the request is answered, else why to move on. */
async function tryTarget(
  context: RequestContext,
  delivery: Delivery,
  target: Target,
  progress: Progress,
): Promise<FailureReason | undefined> {
  for (let round = 1; ; round++) {
    const { outcome, verdict, sink } = await attempt(context, delivery, target, progress, round > 1);
    if (verdict.kind === 'final') {
      if (outcome.kind === 'ok') sink.complete(outcome.usage);
      else finish(context, outcome);
      return undefined;
    }
    progress.last = { target, outcome };
    if (verdict.reason === 'context_length') progress.windowAbove = target.facts?.context_window ?? 0;
    if (!verdict.retry || round >= target.retry.attempts) return verdict.reason;
    const delay = retryDelay(target.retry, round, verdict.retryAfterMs);
    if (delay === undefined || performance.now() + delay >= context.deadlineAt) return verdict.reason;
    if (delay > 0) await sleep(delay, undefined, { signal: context.abort.signal }).catch(() => undefined);
    if (context.abort.signal.aborted) {
      finish(context, { kind: 'cancelled' });
      return undefined;
    }
  }
}

async function attempt(
  context: RequestContext,
  delivery: Delivery,
  target: Target,
  progress: Progress,
  retry: boolean,
): Promise<{ outcome: AttemptOutcome; verdict: Verdict; sink: DeferredResponse }> {
  progress.attempts++;
  markAttempt(context, delivery, target, progress);
  const sink = new DeferredResponse(context);
  const limit = target.totalTimeoutMs === undefined ? undefined : attemptLimit(context, target.totalTimeoutMs);
  const options: AttemptOptions = {
    upstreamModel: target.upstreamModel,
    sink,
    signal: limit?.signal ?? context.abort.signal,
    requestId: context.id,
    ...(delivery.callerApiKey === undefined ? {} : { callerApiKey: delivery.callerApiKey }),
    ...(target.firstByteTimeoutMs === undefined ? {} : { firstByteTimeoutMs: target.firstByteTimeoutMs }),
    ...(target.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: target.idleTimeoutMs }),
  };
  const startedAt = performance.now();
  target.health.begin();
  let outcome: AttemptOutcome;
  try {
    outcome = await delivery.send(target, options);
  } catch (error) {
    target.health.end('neutral', 0, performance.now());
    throw error;
  } finally {
    limit?.release();
  }
  const endedAt = performance.now();
  context.upstreamMs += endedAt - startedAt;
  const verdict = judge(outcome, target, sink.committed, context.abort.signal.aborted);
  target.health.end(verdict.health, (sink.startedAt || endedAt) - startedAt, endedAt);
  if (outcome.kind === 'ok' && outcome.usage) context.usage = outcome.usage;
  if (!sink.committed && outcome.kind === 'broken')
    outcome = { kind: 'failed', code: 'upstream_unreachable', message: 'The upstream connection closed before the answer started.' };
  if (!sink.committed && outcome.kind === 'cancelled' && !context.abort.signal.aborted)
    outcome = { kind: 'failed', code: 'upstream_timeout', message: `The upstream did not answer within ${target.totalTimeoutMs} ms.` };
  if (attemptFinished.hasSubscribers || requestFinished.hasSubscribers)
    recordAttempt(context, { target, outcome, verdict, retry, progress, startedAt, durationMs: endedAt - startedAt });
  return { outcome, verdict, sink };
}

function markAttempt(context: RequestContext, delivery: Delivery, target: Target, progress: Progress): void {
  const price = delivery.price?.(target);
  if (price === undefined) delete context.price;
  else context.price = price;
  context.provider = target.provider.name;
  context.providerType = target.provider.type;
  context.upstreamModel = target.upstreamModel;
  const headers = context.headers;
  headers['x-lightport-provider'] = target.provider.name;
  headers['x-lightport-model'] = target.upstreamModel;
  headers['x-lightport-target'] = target.id;
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
function attemptLimit(context: RequestContext, ms: number): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const forward = (): void => controller.abort(context.abort.signal.reason);
  context.abort.signal.addEventListener('abort', forward, { once: true });
  const timer = setTimeout(() => controller.abort('attempt_timeout'), ms);
  return {
    signal: controller.signal,
    release: () => {
      clearTimeout(timer);
      context.abort.signal.removeEventListener('abort', forward);
    },
  };
}

function shortenDeadline(context: RequestContext, deadlineMs: number): NodeJS.Timeout | undefined {
  const remaining = context.startedAt + deadlineMs - performance.now();
  if (context.startedAt + deadlineMs >= context.deadlineAt) return undefined;
  context.deadlineAt = context.startedAt + deadlineMs;
  return setTimeout(() => context.abort.abort('deadline'), Math.max(0, remaining));
}

interface AttemptReport {
  readonly target: Target;
  readonly outcome: AttemptOutcome;
  readonly verdict: Verdict;
  readonly retry: boolean;
  readonly progress: Progress;
  readonly startedAt: number;
  readonly durationMs: number;
}

/** Keeps the attempt for the request's observers and publishes it to the attempt's own. */
function recordAttempt(context: RequestContext, report: AttemptReport): void {
  const { target, outcome, verdict, progress } = report;
  const status = outcome.kind === 'ok' ? context.res.statusCode : outcome.kind === 'upstream_error' ? outcome.status : undefined;
  const errorClass = classify(outcome);
  const event: AttemptFinished = {
    requestId: context.id,
    ...(context.model === undefined ? {} : { model: context.model }),
    provider: target.provider.name,
    providerType: target.provider.type,
    upstreamModel: target.upstreamModel,
    target: target.id,
    attempt: progress.attempts,
    retry: report.retry,
    fallback: !report.retry && progress.fallbackReason !== undefined,
    outcome: outcome.kind,
    startMs: report.startedAt - context.startedAt,
    durationMs: report.durationMs,
    ...(status === undefined ? {} : { status }),
    ...(errorClass === undefined ? {} : { errorClass }),
    ...(verdict.kind === 'again' ? { failureReason: verdict.reason } : {}),
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
