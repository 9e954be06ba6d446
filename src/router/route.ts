import type { Provider } from '../providers/types.ts';
import type { HealthRecord } from './health-map.ts';
import type { ModelFacts } from './model-catalog.ts';
import type { RoutingInput } from './routing-input.ts';

export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly retryAfterMaxMs: number;
}

/** One concrete upstream (a provider and the model it knows), with its policies and health. */
export interface Target {
  /** `<provider name>/<upstream model>`: the key of its health record. */
  readonly id: string;
  readonly provider: Provider;
  readonly upstreamModel: string;
  readonly retry: RetryPolicy;
  readonly firstByteTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly totalTimeoutMs?: number;
  /** Statuses that count as failures (retry, fall back) besides 429, 5xx and connection errors. */
  readonly failOn: ReadonlySet<number>;
  /** Catalog facts merged with the YAML's overrides; undefined for unknown models. */
  readonly facts: ModelFacts | undefined;
  readonly health: HealthRecord;
}

/** Orders the targets one request should try. Static planners return the same array every time. */
export interface Planner {
  plan(input: RoutingInput): readonly Target[];
  /** Every target this planner can ever return. */
  readonly targets: readonly Target[];
  /** Set when the plan never changes, so a parent can flatten it once at load. */
  readonly fixed?: readonly Target[];
}

export interface Route {
  readonly name: string;
  readonly planner: Planner;
  /** A deadline shared by every attempt of one request, when the model sets one. */
  readonly deadlineMs?: number;
}

/** A planner that always returns the same targets. */
export function staticPlanner(targets: readonly Target[]): Planner {
  return { plan: () => targets, targets, fixed: targets };
}
