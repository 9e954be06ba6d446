import type { BudgetConfig, BudgetsConfig } from '../config/limits-schema.ts';
import type { BudgetUse, CrossedThreshold, SpendSeed, SpendUse } from './backend.ts';
import { PERIOD_KINDS, type Period, type PeriodClock, type PeriodKind } from './periods.ts';

export type BudgetScope = 'key' | 'team';

/** One budget of one key or team, with the defaults applied. */
export interface BudgetSpec {
  readonly scope: BudgetScope;
  readonly name: string;
  readonly usd: number;
  readonly period: PeriodKind;
  readonly thresholds: readonly number[];
  readonly block: boolean;
}

export function compileBudgets(
  defaults: BudgetsConfig,
  scope: BudgetScope,
  name: string,
  budgets: readonly BudgetConfig[],
): readonly BudgetSpec[] {
  return budgets.map((budget) => ({
    scope,
    name,
    usd: budget.usd,
    period: budget.period,
    thresholds: [...new Set(budget.thresholds ?? defaults.thresholds)].toSorted((a, b) => a - b),
    block: (budget.on_exceeded ?? defaults.on_exceeded) === 'block',
  }));
}

/** What reaches the alert webhook and the log when spend passes a threshold. */
export interface BudgetAlert {
  readonly type: 'budget.threshold';
  readonly scope: BudgetScope;
  readonly name: string;
  readonly period: PeriodKind;
  readonly period_id: string;
  readonly period_start: string;
  readonly period_end: string;
  readonly threshold: number;
  readonly budget_usd: number;
  readonly spent_usd: number;
  /** What happens at 100%: requests refused (`block`) or only this alert (`alert`). */
  readonly on_exceeded: 'block' | 'alert';
  readonly at: string;
}

const NO_BLOCKING = { uses: [], specs: [] } as const;

/** Backend keys and periods for budgets; one spend total per key or team and period. */
export class BudgetKeys {
  readonly #prefix: string;
  readonly #clock: PeriodClock;

  constructor(prefix: string, clock: PeriodClock) {
    this.#prefix = prefix;
    this.#clock = clock;
  }

  period(spec: BudgetSpec): Period {
    return this.#clock.current(spec.period);
  }

  /** The ids of today's, this week's and this month's periods. */
  currentPeriodIds(): string[] {
    return PERIOD_KINDS.map((kind) => this.#clock.current(kind).id);
  }

  key(spec: BudgetSpec, period: Period = this.period(spec)): string {
    return `${this.#prefix}s:${spec.scope === 'key' ? 'k' : 't'}:${spec.name}:${period.id}`;
  }

  blocking(specs: readonly BudgetSpec[]): { readonly uses: readonly BudgetUse[]; readonly specs: readonly BudgetSpec[] } {
    if (specs.length === 0) return NO_BLOCKING;
    const uses: BudgetUse[] = [];
    const blocking: BudgetSpec[] = [];
    for (const spec of specs) {
      if (!spec.block) continue;
      uses.push({ key: this.key(spec), limitUsd: spec.usd });
      blocking.push(spec);
    }
    return { uses, specs: blocking };
  }

  spend(specs: readonly BudgetSpec[], usd: number): SpendUse[] {
    return specs.map((spec) => {
      const period = this.period(spec);
      return { key: this.key(spec, period), usd, limitUsd: spec.usd, thresholds: spec.thresholds, expiresAt: period.end };
    });
  }

  seed(spec: BudgetSpec, usd: number): SpendSeed {
    const period = this.period(spec);
    return { key: this.key(spec, period), usd, limitUsd: spec.usd, thresholds: spec.thresholds, expiresAt: period.end };
  }

  alert(spec: BudgetSpec, crossed: CrossedThreshold): BudgetAlert {
    const period = this.period(spec);
    return {
      type: 'budget.threshold',
      scope: spec.scope,
      name: spec.name,
      period: spec.period,
      period_id: period.id,
      period_start: new Date(period.start).toISOString(),
      period_end: new Date(period.end).toISOString(),
      threshold: crossed.threshold,
      budget_usd: spec.usd,
      spent_usd: Math.round(crossed.spentUsd * 1e6) / 1e6,
      on_exceeded: spec.block ? 'block' : 'alert',
      at: new Date().toISOString(),
    };
  }
}

const PERIOD_WORDS: Record<PeriodKind, string> = { day: 'daily', week: 'weekly', month: 'monthly' };

export function budgetExceededMessage(spec: BudgetSpec, spentUsd: number, period: Period): string {
  const owner = spec.scope === 'key' ? `This key ('${spec.name}')` : `This key's team ('${spec.name}')`;
  return (
    `${owner} has spent $${spentUsd.toFixed(4)} of its ${PERIOD_WORDS[spec.period]} budget of $${spec.usd.toFixed(2)}; ` +
    `requests are refused until the budget resets at ${new Date(period.end).toISOString()}.`
  );
}
