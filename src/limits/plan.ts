import type { LimitSet, LimitsConfig } from '../config/limits-schema.ts';
import type { BucketUse, LeaseUse, PlanMemo } from './backend.ts';
import { firstMatch } from './glob.ts';

/** One subject's limits (a key, team, user, model, or the gateway), with its backend keys built once. */
export interface LimitSpec {
  /** Built once: a request always costs 1. */
  readonly requests?: BucketUse;
  readonly tokens?: { readonly key: string; readonly capacity: number };
  readonly concurrent?: LeaseUse;
}

export type Dimension = 'key' | 'team' | 'user' | 'model' | 'global';

const SUBJECT_TAG: Record<Dimension, string> = { key: 'k', team: 't', user: 'u', model: 'm', global: 'g' };

export function compileLimitSpec(prefix: string, dimension: Dimension, id: string, limits: LimitSet | undefined): LimitSpec | undefined {
  if (limits === undefined) return undefined;
  const subject = `${SUBJECT_TAG[dimension]}:${id}`;
  const spec: LimitSpec = {
    ...(limits.requests_per_minute === undefined
      ? {}
      : { requests: { key: `${prefix}r:${subject}`, capacity: limits.requests_per_minute, cost: 1 } }),
    ...(limits.tokens_per_minute === undefined ? {} : { tokens: { key: `${prefix}t:${subject}`, capacity: limits.tokens_per_minute } }),
    ...(limits.concurrent === undefined ? {} : { concurrent: { key: `${prefix}c:${subject}`, limit: limits.concurrent } }),
  };
  return spec.requests || spec.tokens || spec.concurrent ? spec : undefined;
}

/** What one request asks of the limits, with the positions of the request and token buckets for headers. */
export interface LimitPlan {
  readonly buckets: BucketUse[];
  readonly leases: LeaseUse[];
  readonly requestBuckets: number[];
  readonly tokenBuckets: number[];
  /** The dimension of each bucket, and of each lease set. */
  readonly dimensions: Dimension[];
  readonly leaseDimensions: Dimension[];
  /** For a plan that is cached: the backend's memo of where its buckets and lease sets are. */
  readonly memo: PlanMemo | undefined;
}

export function emptyPlan(memo?: PlanMemo): LimitPlan {
  return { buckets: [], leases: [], requestBuckets: [], tokenBuckets: [], dimensions: [], leaseDimensions: [], memo };
}

/** Adds one subject's limits to a plan; `tokens` is the request's estimate. */
export function addToPlan(plan: LimitPlan, spec: LimitSpec | undefined, dimension: Dimension, tokens: () => number): void {
  if (spec === undefined) return;
  if (spec.requests) {
    plan.requestBuckets.push(plan.buckets.length);
    plan.buckets.push(spec.requests);
    plan.dimensions.push(dimension);
  }
  if (spec.tokens) {
    plan.tokenBuckets.push(plan.buckets.length);
    plan.buckets.push({ key: spec.tokens.key, capacity: spec.tokens.capacity, cost: tokens() });
    plan.dimensions.push(dimension);
  }
  if (spec.concurrent) {
    plan.leases.push(spec.concurrent);
    plan.leaseDimensions.push(dimension);
  }
}

const MOST_CACHED_MODELS = 1024;

/** The limits that do not depend on the key: global, per team, per user, per model. Compiled at load. */
export class SharedLimits {
  readonly global: LimitSpec | undefined;
  readonly usesTokens: boolean;
  readonly #prefix: string;
  readonly #config: LimitsConfig;
  readonly #teamLimits: (team: string) => LimitSet | undefined;
  readonly #modelLimits: (model: string) => LimitSet | undefined;
  readonly #teams = new Map<string, LimitSpec | undefined>();
  readonly #models = new Map<string, LimitSpec | undefined>();

  constructor(prefix: string, config: LimitsConfig, teamLimits: (team: string) => LimitSet | undefined) {
    this.#prefix = prefix;
    this.#config = config;
    this.#teamLimits = teamLimits;
    this.global = compileLimitSpec(prefix, 'global', 'all', config.global);
    const entries = Object.entries(config.per_model);
    this.#modelLimits = firstMatch(entries);
    this.usesTokens = [config.global, config.per_key, config.per_team, config.per_user, ...entries.map(([, limits]) => limits)].some(
      (limits) => limits?.tokens_per_minute !== undefined,
    );
  }

  get perUser(): boolean {
    return this.#config.per_user !== undefined;
  }

  get any(): boolean {
    const { global, per_key, per_team, per_user, per_model } = this.#config;
    return [global, per_key, per_team, per_user].some((limits) => limits !== undefined) || Object.keys(per_model).length > 0;
  }

  team(team: string): LimitSpec | undefined {
    if (this.#teams.has(team)) return this.#teams.get(team);
    const spec = compileLimitSpec(this.#prefix, 'team', team, this.#teamLimits(team) ?? this.#config.per_team);
    this.#teams.set(team, spec);
    return spec;
  }

  user(user: string): LimitSpec | undefined {
    return compileLimitSpec(this.#prefix, 'user', user, this.#config.per_user);
  }

  model(model: string): LimitSpec | undefined {
    const cached = this.#models.get(model);
    if (cached !== undefined || this.#models.has(model)) return cached;
    const spec = compileLimitSpec(this.#prefix, 'model', model, this.#modelLimits(model));
    if (this.#models.size < MOST_CACHED_MODELS) this.#models.set(model, spec);
    return spec;
  }

  /** Default limits for a key that has none of its own. */
  keyDefault(): LimitSet | undefined {
    return this.#config.per_key;
  }
}
