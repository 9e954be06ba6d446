import type { Logger } from '../observability/logger.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { BucketUse, LimitBackend, Settled, SpendUse } from './backend.ts';
import type { BudgetKeys, BudgetSpec } from './budgets.ts';
import type { CostOf } from './cost.ts';
import type { LimitPlan } from './plan.ts';
import type { SpendLedger } from './spend-ledger.ts';
import type { AlertSender } from './webhook.ts';

/** What settling needs besides the request: shared by every ticket of one stage. */
export interface SettleDeps {
  readonly backend: LimitBackend;
  readonly budgetKeys: BudgetKeys;
  readonly costOf: CostOf;
  readonly ledger: SpendLedger | undefined;
  readonly alerts: AlertSender;
  readonly logger: Logger;
}

const NO_SPEND: readonly SpendUse[] = [];
const NO_CORRECTIONS: readonly BucketUse[] = [];

/**
 * An admitted request's claim on the limits, settled once after the response: token
 * estimates corrected with the real usage, concurrency leases released, spend added.
 * Settling runs after the answer has been sent and never throws.
 */
export class Ticket {
  readonly #deps: SettleDeps;
  readonly #plan: LimitPlan;
  readonly #leaseId: string;
  readonly #budgets: readonly BudgetSpec[];
  readonly #estimate: number;

  constructor(deps: SettleDeps, plan: LimitPlan, leaseId: string, budgets: readonly BudgetSpec[], estimate: number) {
    this.#deps = deps;
    this.#plan = plan;
    this.#leaseId = leaseId;
    this.#budgets = budgets;
    this.#estimate = estimate;
  }

  settle(context: RequestContext): void {
    const adjust = this.#tokenCorrections(context);
    const usd = this.#cost(context);
    const spend = usd > 0 ? this.#deps.budgetKeys.spend(this.#budgets, usd) : NO_SPEND;
    if (usd > 0) this.#record(usd);
    if (adjust.length === 0 && spend.length === 0 && this.#plan.leases.length === 0) return;
    const plan = this.#plan;
    const settled = this.#deps.backend.settle({
      adjust,
      adjustAt: plan.tokenBuckets,
      memo: plan.memo,
      leases: plan.leases,
      leaseId: this.#leaseId,
      spend,
    });
    if (!(settled instanceof Promise)) return this.#alert(settled);
    settled.then(
      (result) => this.#alert(result),
      (error: unknown) => this.#deps.logger.debug({ err_message: (error as Error).message }, 'could not settle limits'),
    );
  }

  #alert(settled: Settled): void {
    for (const crossed of settled.crossed) {
      const spec = this.#budgets[crossed.index];
      if (spec !== undefined) this.#deps.alerts.send(this.#deps.budgetKeys.alert(spec, crossed));
    }
  }

  /**
   * Real tokens minus the estimate; without usage, a failed request gives its estimate back, and so
   * does one the cache answered (the usage it carries is the stored answer's: no upstream spent it).
   */
  #tokenCorrections(context: RequestContext): readonly BucketUse[] {
    if (this.#plan.tokenBuckets.length === 0) return NO_CORRECTIONS;
    const used = answeredFromCache(context) ? 0 : context.usage?.total_tokens;
    const delta = used === undefined ? (context.res.statusCode >= 400 ? -this.#estimate : 0) : used - this.#estimate;
    if (delta === 0) return NO_CORRECTIONS;
    const { tokenBuckets, buckets } = this.#plan;
    const corrections: BucketUse[] = [];
    for (let index = 0; index < tokenBuckets.length; index++) {
      const bucket = buckets[tokenBuckets[index] as number] as BucketUse;
      corrections.push({ key: bucket.key, capacity: bucket.capacity, cost: delta });
    }
    return corrections;
  }

  /** The observe stage's cost (pricing catalog) when it priced the answer, else the token-price fallback. */
  #cost(context: RequestContext): number {
    if (this.#budgets.length === 0 || answeredFromCache(context)) return 0;
    if (context.costUsd !== undefined) return context.costUsd;
    if (context.usage === undefined) return 0;
    const model = context.upstreamModel ?? context.model ?? '';
    return this.#deps.costOf(context.usage, model) ?? 0;
  }

  #record(usd: number): void {
    const ledger = this.#deps.ledger;
    if (ledger === undefined) return;
    for (const spec of this.#budgets) ledger.add(spec.scope, spec.name, this.#deps.budgetKeys.period(spec).id, usd);
  }
}

/** A cache hit of any kind (exact, semantic, or an identical request's answer followed): no upstream call of its own. */
function answeredFromCache(context: RequestContext): boolean {
  const status = context.cache?.status;
  return status !== undefined && status.startsWith('hit');
}
