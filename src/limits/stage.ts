import type { RequestContext } from '../pipeline/context.ts';
import type { ChatRequest, EmbeddingsRequest } from '../providers/types.ts';
import { GatewayError } from '../server/errors.ts';
import { PlanMemo, type Admission, type LimitBackend } from './backend.ts';
import { budgetExceededMessage, type BudgetKeys, type BudgetSpec } from './budgets.ts';
import { setRateHeaders } from './headers.ts';
import type { AuthorizedKey, KeyDirectory } from './key-directory.ts';
import { checkMcpAccess } from './mcp-access.ts';
import { PlanCache, withTokenCost } from './plan-cache.ts';
import { addToPlan, emptyPlan, type Dimension, type LimitPlan, type SharedLimits } from './plan.ts';
import { estimateChatTokens, estimateEmbeddingTokens, roughCount, type CountTokens } from './tokens.ts';
import { Ticket, type SettleDeps } from './ticket.ts';
import { requestHeader } from '../server/request-headers.ts';
import { modelNotAllowed } from './refusals.ts';

export interface StageParts extends SettleDeps {
  readonly directory: KeyDirectory | undefined;
  readonly shared: SharedLimits;
  readonly teamBudgets: (team: string) => readonly BudgetSpec[];
  readonly budgetKeys: BudgetKeys;
  readonly leaseTtlMs: number;
  /** x-ratelimit-* on every answer to a limited request, not only on refusals. */
  readonly headersOnEveryAnswer: boolean;
}

const MOST_USER_CHARACTERS = 256;
const NO_BUDGETS: readonly BudgetSpec[] = [];
const DIMENSION_WORDS: Record<Dimension, string> = { key: 'key', team: "key's team", user: 'user', model: 'model', global: 'gateway' };
const LEASE_PREFIX = `${process.pid.toString(36)}${Date.now().toString(36)}:`;

/**
 * The auth & limits stage: after the body is parsed and the model resolved, before any
 * upstream work. It resolves the caller's key (401), checks what the key may use (403),
 * and admits or refuses the request against rate limits and budgets (429, with OpenAI's
 * x-ratelimit-* headers on every answer).
 */
export class LimitsStage {
  readonly #parts: StageParts;
  readonly #backend: LimitBackend;
  #count: CountTokens = roughCount;
  #leases = 0;
  readonly #plans = new PlanCache();

  constructor(parts: StageParts) {
    this.#parts = parts;
    this.#backend = parts.backend;
  }

  get directory(): KeyDirectory | undefined {
    return this.#parts.directory;
  }

  useTokenCounter(count: CountTokens): void {
    this.#count = count;
  }

  /** With `auth` on: the key goes on the context, or the request ends here with a 401. */
  authenticate(context: RequestContext): void {
    const directory = this.#parts.directory;
    if (directory === undefined) return;
    const key = directory.authenticate(context);
    context.key = key.caller;
    context.keyName = key.name;
    if (key.mcpAllow !== undefined) context.mcpAllow = key.mcpAllow;
  }

  /** A ticket to settle after the response, or a refusal (thrown); at once when the backend is memory. */
  admit(context: RequestContext, request: ChatRequest | EmbeddingsRequest): Ticket | undefined | Promise<Ticket | undefined> {
    const key = context.key === undefined ? undefined : this.#parts.directory?.get(context.key.name);
    if (key !== undefined) checkAccess(key, context, request);
    const user = userOf(context, request);
    if (user !== undefined) context.user = user;

    const plan = this.#plan(key, user, context.model ?? request.model, request);
    const budgets = key === undefined ? NO_BUDGETS : this.#budgetsOf(key);
    if (plan.buckets.length === 0 && plan.leases.length === 0 && budgets.length === 0) return undefined;
    refuseOversized(plan);
    const blocking = this.#parts.budgetKeys.blocking(budgets);
    const leaseId = `${LEASE_PREFIX}${this.#leases++}`;
    const decided = this.#backend.admit({
      buckets: plan.buckets,
      leases: plan.leases,
      budgets: blocking.uses,
      leaseId,
      leaseTtlMs: this.#parts.leaseTtlMs,
      memo: plan.memo,
    });
    if (decided instanceof Promise)
      return decided.then((admission) => this.#conclude(context, admission, plan, leaseId, budgets, blocking.specs));
    return this.#conclude(context, decided, plan, leaseId, budgets, blocking.specs);
  }

  #conclude(
    context: RequestContext,
    admission: Admission,
    plan: LimitPlan,
    leaseId: string,
    budgets: readonly BudgetSpec[],
    blocking: readonly BudgetSpec[],
  ): Ticket {
    const refused = admission.kind === 'refused';
    if (refused || this.#parts.headersOnEveryAnswer) {
      setRateHeaders(context.headers, plan.buckets, plan.requestBuckets, plan.tokenBuckets, admission.remaining);
    }
    if (refused) throw this.#refusal(context, admission, plan, blocking);
    return new Ticket(this.#parts, plan, leaseId, budgets, tokenEstimate(plan));
  }

  #estimate(request: ChatRequest | EmbeddingsRequest): number {
    return 'messages' in request ? estimateChatTokens(request as ChatRequest, this.#count) : estimateEmbeddingTokens(request, this.#count);
  }

  /**
   * Per-user limits make a plan per user (not cached: users are many); otherwise it is the (key,
   * model) pair's, its token buckets costing this request's estimate (made only when there are some).
   */
  #plan(key: AuthorizedKey | undefined, user: string | undefined, model: string, request: ChatRequest | EmbeddingsRequest): LimitPlan {
    const perUser = user !== undefined && this.#parts.shared.perUser ? user : undefined;
    if (perUser !== undefined) {
      let estimate = -1;
      return this.#buildPlan(key, perUser, model, () => (estimate === -1 ? (estimate = this.#estimate(request)) : estimate));
    }
    const fixed =
      this.#plans.get(key, model) ??
      this.#plans.set(
        key,
        model,
        this.#buildPlan(key, undefined, model, () => 0, new PlanMemo()),
      );
    return fixed.tokenBuckets.length === 0 ? fixed : withTokenCost(fixed, this.#estimate(request));
  }

  #buildPlan(key: AuthorizedKey | undefined, user: string | undefined, model: string, tokens: () => number, memo?: PlanMemo): LimitPlan {
    const { shared } = this.#parts;
    const plan = emptyPlan(memo);
    if (key !== undefined) {
      addToPlan(plan, key.limits, 'key', tokens);
      if (key.caller.team !== undefined) addToPlan(plan, shared.team(key.caller.team), 'team', tokens);
    }
    if (user !== undefined) addToPlan(plan, shared.user(user), 'user', tokens);
    addToPlan(plan, shared.model(model), 'model', tokens);
    addToPlan(plan, shared.global, 'global', tokens);
    return plan;
  }

  #budgetsOf(key: AuthorizedKey): readonly BudgetSpec[] {
    const team = key.caller.team;
    const teamBudgets = team === undefined ? [] : this.#parts.teamBudgets(team);
    if (teamBudgets.length === 0) return key.budgets;
    return key.budgets.length === 0 ? teamBudgets : [...key.budgets, ...teamBudgets];
  }

  #refusal(
    context: RequestContext,
    refused: Extract<Admission, { kind: 'refused' }>,
    plan: LimitPlan,
    blocking: readonly BudgetSpec[],
  ): GatewayError {
    if (refused.reason === 'budget') {
      const spec = blocking[refused.index] as BudgetSpec;
      context.headers['x-should-retry'] = 'false';
      return new GatewayError('budget_exceeded', budgetExceededMessage(spec, refused.spentUsd ?? 0, this.#parts.budgetKeys.period(spec)));
    }
    const seconds = Math.max(1, Math.ceil(refused.retryAfterMs / 1000));
    context.headers['retry-after'] = String(seconds);
    context.headers['retry-after-ms'] = String(Math.max(1, refused.retryAfterMs));
    if (refused.reason === 'concurrency') {
      const owner = DIMENSION_WORDS[plan.leaseDimensions[refused.index] ?? 'global'];
      return new GatewayError('rate_limited', `Too many concurrent requests for this ${owner}; retry when one finishes.`);
    }
    const dimension = DIMENSION_WORDS[plan.dimensions[refused.index] ?? 'global'];
    const bucket = plan.buckets[refused.index];
    const what = plan.tokenBuckets.includes(refused.index) ? 'tokens' : 'requests';
    return new GatewayError(
      'rate_limited',
      `Rate limit reached: ${bucket?.capacity ?? 0} ${what} per minute for this ${dimension}. Retry after ${seconds}s.`,
    );
  }
}

function checkAccess(key: AuthorizedKey, context: RequestContext, request: ChatRequest | EmbeddingsRequest): void {
  const model = context.model ?? request.model;
  if (!key.caller.allowsModel(model)) {
    throw modelNotAllowed(model);
  }
  if ('messages' in request) checkMcpAccess(key.caller, context, request as ChatRequest);
}

function userOf(context: RequestContext, request: ChatRequest | EmbeddingsRequest): string | undefined {
  const header = requestHeader(context.req, 'x-lightport-user');
  const user = typeof header === 'string' && header !== '' ? header : request['user'];
  if (user === undefined || user === null) return undefined;
  if (typeof user !== 'string' || user.length > MOST_USER_CHARACTERS) {
    throw new GatewayError('invalid_request', `Invalid 'user': expected a string of at most ${MOST_USER_CHARACTERS} characters.`, {
      param: 'user',
    });
  }
  return user;
}

/** The request's token estimate, as its token buckets cost it (0 without any). */
function tokenEstimate(plan: LimitPlan): number {
  const position = plan.tokenBuckets[0];
  return position === undefined ? 0 : (plan.buckets[position]?.cost ?? 0);
}

/** A request bigger than a whole minute's tokens can never pass: say so instead of "retry later". */
function refuseOversized(plan: LimitPlan): void {
  for (const position of plan.tokenBuckets) {
    const bucket = plan.buckets[position];
    if (bucket === undefined || bucket.cost <= bucket.capacity) continue;
    throw new GatewayError(
      'request_too_large_for_limit',
      `This request needs about ${bucket.cost} tokens, more than the ${DIMENSION_WORDS[plan.dimensions[position] ?? 'global']} limit of ${bucket.capacity} tokens per minute.`,
    );
  }
}
