import { GatewayError } from '../../server/errors.ts';
import { TIERS, type Tier } from '../model-catalog.ts';
import type { Planner, Target } from '../route.ts';
import type { RoutingInput } from '../routing-input.ts';

export interface CostPolicy {
  readonly maxP95LatencyMs?: number;
  readonly minTier?: Tier;
  readonly tags: readonly string[];
  readonly assumedOutputTokens: number;
}

/** Latency figures are trusted once a target has this many observations. */
const MIN_LATENCY_OBSERVATIONS = 5;
/**
 * Share of plans that leave the latency limit aside. A target's p95 moves only with requests it
 * serves, so one excluded after a slow patch would never be measured again; this often, it is.
 */
const EXPLORE = 0.05;

/**
 * The cheapest targets first, among those that can serve the request (capabilities,
 * context window) and meet the policy (tier, tags, observed p95 latency). A target the
 * catalog does not know is assumed capable, ranked last, and fails any tier or tag test.
 */
export function costPlanner(model: string, targets: readonly Target[], policy: CostPolicy): Planner {
  const minTier = policy.minTier === undefined ? 0 : TIERS.indexOf(policy.minTier);
  const meetsPolicy = (target: Target): boolean => {
    if (minTier === 0 && policy.tags.length === 0) return true;
    const facts = target.facts;
    if (facts === undefined) return false;
    return TIERS.indexOf(facts.tier) >= minTier && policy.tags.every((tag) => facts.tags.includes(tag));
  };
  const candidates = targets.filter(meetsPolicy);
  return {
    targets,
    plan: (input) => {
      const able = candidates.filter((target) => canServe(target, input));
      if (able.length === 0) throw noTarget(model, input);
      const fastEnough =
        policy.maxP95LatencyMs === undefined || Math.random() < EXPLORE
          ? able
          : able.filter((target) => isFastEnough(target, policy.maxP95LatencyMs ?? 0));
      // When every able target is slower than the limit, serving slowly beats refusing.
      const chosen = fastEnough.length > 0 ? fastEnough : able;
      const output = input.maxOutputTokens ?? policy.assumedOutputTokens;
      const price = (target: Target): number => {
        if (target.facts === undefined) return Number.POSITIVE_INFINITY;
        const cost = input.estimatedTokens * target.facts.input_per_mtok + output * target.facts.output_per_mtok;
        return Number.isNaN(cost) ? Number.POSITIVE_INFINITY : cost;
      };
      return chosen.length === 1 ? chosen : chosen.toSorted((a, b) => price(a) - price(b));
    },
  };
}

function canServe(target: Target, input: RoutingInput): boolean {
  const facts = target.facts;
  if (facts === undefined) return true;
  if (!input.needs.every((need) => facts.capabilities.includes(need))) return false;
  return input.estimatedTokens + (input.maxOutputTokens ?? 0) <= facts.context_window;
}

function isFastEnough(target: Target, limitMs: number): boolean {
  return target.health.observations < MIN_LATENCY_OBSERVATIONS || target.health.p95Ms <= limitMs;
}

function noTarget(model: string, input: RoutingInput): GatewayError {
  const needs = input.needs.length > 0 ? input.needs.join(', ') : 'no special capabilities';
  return new GatewayError(
    'no_eligible_target',
    `No target of model '${model}' can serve this request (it needs ${needs} and about ${input.estimatedTokens} prompt tokens).`,
    { param: 'model' },
  );
}
