import type { Config } from '../config/schema.ts';
import type { Provider } from '../providers/types.ts';
import type { HealthMap } from './health-map.ts';
import { lookupModel, type ModelFacts } from './model-catalog.ts';
import { staticPlanner, type Planner, type Route, type Target } from './route.ts';
import { conditionalPlanner } from './strategies/conditional.ts';
import { costPlanner } from './strategies/cost.ts';
import { fallbackPlanner } from './strategies/fallback.ts';
import { loadBalancePlanner } from './strategies/loadbalance.ts';

type ModelEntry = Config['models'][string];
type TargetEntry = Extract<ModelEntry, { strategy: 'fallback' }>['targets'][number];
type LeafEntry = Extract<ModelEntry, { provider: string }> | Extract<TargetEntry, object>;

export interface BuiltRoutes {
  readonly routes: ReadonlyMap<string, Route>;
  /** Models none of whose targets has a loaded provider, with one provider they need. */
  readonly unavailable: ReadonlyMap<string, string>;
}

/**
 * Turns the `models:` section into routes: a planner tree per model name whose leaves are
 * targets. Targets that name a provider that was skipped (no key) are left out. Cycles and
 * unknown names were refused when the config was loaded.
 */
export function buildRoutes(config: Config, providers: ReadonlyMap<string, Provider>, health: HealthMap): BuiltRoutes {
  const builder = new RouteBuilder(config, providers, health);
  const routes = new Map<string, Route>();
  const unavailable = new Map<string, string>();
  for (const [name, entry] of Object.entries(config.models)) {
    const planner = builder.model(name, new Set());
    if (planner === undefined || planner.targets.length === 0) {
      unavailable.set(name, firstProvider(entry) ?? name);
      continue;
    }
    routes.set(name, entry.deadline_ms === undefined ? { name, planner } : { name, planner, deadlineMs: entry.deadline_ms });
  }
  return { routes, unavailable };
}

class RouteBuilder {
  readonly #config: Config;
  readonly #providers: ReadonlyMap<string, Provider>;
  readonly #health: HealthMap;
  readonly #built = new Map<string, Planner | undefined>();

  constructor(config: Config, providers: ReadonlyMap<string, Provider>, health: HealthMap) {
    this.#config = config;
    this.#providers = providers;
    this.#health = health;
  }

  /** The planner of a model name; `failOn` is the statuses its fallback ancestors add. */
  model(name: string, failOn: ReadonlySet<number>, visiting: ReadonlySet<string> = new Set()): Planner | undefined {
    const memo = `${name}|${[...failOn].join(',')}`;
    if (this.#built.has(memo)) return this.#built.get(memo);
    const entry = this.#config.models[name];
    if (entry === undefined || visiting.has(name)) return undefined;
    const inside = new Set([...visiting, name]);
    const planner = this.#strategy(name, entry, failOn, inside);
    this.#built.set(memo, planner);
    return planner;
  }

  #strategy(name: string, entry: ModelEntry, failOn: ReadonlySet<number>, visiting: ReadonlySet<string>): Planner | undefined {
    const child = (target: TargetEntry, statuses = failOn) => this.#target(target, statuses, visiting);
    switch (entry.strategy) {
      case undefined:
      case 'single': {
        const target = this.#leaf(entry, failOn);
        return target === undefined ? undefined : staticPlanner([target]);
      }
      case 'fallback': {
        const statuses = new Set([...failOn, ...entry.on_status]);
        return nonEmpty(fallbackPlanner(present(entry.targets.map((target) => child(target, statuses)))));
      }
      case 'loadbalance': {
        const children = entry.targets.flatMap((target) => {
          const planner = child(target);
          return planner === undefined ? [] : [{ planner, weight: typeof target === 'string' ? 1 : (target.weight ?? 1) }];
        });
        if (children.length === 0) return undefined;
        return loadBalancePlanner(children, entry.method, entry.sticky);
      }
      case 'cost': {
        const targets = [...new Set(present(entry.targets.map((target) => child(target))).flatMap((planner) => planner.targets))];
        if (targets.length === 0) return undefined;
        return costPlanner(name, targets, {
          tags: entry.tags,
          assumedOutputTokens: entry.assumed_output_tokens,
          ...(entry.max_p95_latency_ms === undefined ? {} : { maxP95LatencyMs: entry.max_p95_latency_ms }),
          ...(entry.min_tier === undefined ? {} : { minTier: entry.min_tier }),
        });
      }
      case 'conditional': {
        const branches = entry.rules.flatMap((rule) => {
          const planner = child(rule.target);
          return planner === undefined ? [] : [{ when: rule.when, planner, ...(rule.name === undefined ? {} : { name: rule.name }) }];
        });
        const fallback = entry.default === undefined ? undefined : child(entry.default);
        if (branches.length === 0 && fallback === undefined) return undefined;
        return conditionalPlanner(name, branches, fallback);
      }
    }
  }

  #target(entry: TargetEntry, failOn: ReadonlySet<number>, visiting: ReadonlySet<string>): Planner | undefined {
    const reference = typeof entry === 'string' ? entry : entry.target;
    if (reference === undefined) {
      const target = this.#leaf(entry as LeafEntry, failOn);
      return target === undefined ? undefined : staticPlanner([target]);
    }
    if (this.#config.models[reference] !== undefined) return this.model(reference, failOn, visiting);
    const slash = reference.indexOf('/');
    const target = slash > 0 ? this.#leaf({ provider: reference.slice(0, slash), model: reference.slice(slash + 1) }, failOn) : undefined;
    return target === undefined ? undefined : staticPlanner([target]);
  }

  #leaf(entry: LeafEntry, failOn: ReadonlySet<number>): Target | undefined {
    const provider = entry.provider === undefined ? undefined : this.#providers.get(entry.provider);
    if (provider === undefined || entry.model === undefined) return undefined;
    return makeTarget(provider, entry.model, this.#config.router, this.#health, { entry, failOn });
  }
}

/** A target with the router's defaults, overridden by the YAML entry's retry, timeouts and catalog fields. */
export function makeTarget(
  provider: Provider,
  upstreamModel: string,
  router: Config['router'],
  health: HealthMap,
  from: { entry?: LeafEntry; failOn?: ReadonlySet<number>; transient?: boolean } = {},
): Target {
  const entry = from.entry;
  const retry = { ...router.retry, ...entry?.retry };
  const timeouts = { ...router.timeouts, ...entry?.timeouts };
  const id = `${provider.name}/${upstreamModel}`;
  return {
    id,
    provider,
    upstreamModel,
    retry: {
      attempts: retry.attempts,
      backoffMs: retry.backoff_ms,
      maxBackoffMs: retry.max_backoff_ms,
      retryAfterMaxMs: retry.retry_after_max_ms,
    },
    ...(timeouts.first_byte_ms === undefined ? {} : { firstByteTimeoutMs: timeouts.first_byte_ms }),
    ...(timeouts.idle_ms === undefined ? {} : { idleTimeoutMs: timeouts.idle_ms }),
    ...(timeouts.total_ms === undefined ? {} : { totalTimeoutMs: timeouts.total_ms }),
    failOn: new Set([...router.fallback_on, ...(from.failOn ?? [])]),
    facts: mergeFacts(lookupModel(provider.type, upstreamModel), entry),
    health: from.transient === true ? health.transientRecord(id) : health.record(id),
  };
}

function mergeFacts(known: ModelFacts | undefined, entry: LeafEntry | undefined): ModelFacts | undefined {
  if (entry === undefined) return known;
  const { price, context_window, capabilities, tier, tags } = entry;
  if (price === undefined && context_window === undefined && capabilities === undefined && tier === undefined && tags === undefined)
    return known;
  return {
    // An unknown price ranks last in the cost strategy rather than looking free.
    input_per_mtok: price?.input_per_mtok ?? known?.input_per_mtok ?? Number.POSITIVE_INFINITY,
    output_per_mtok: price?.output_per_mtok ?? known?.output_per_mtok ?? Number.POSITIVE_INFINITY,
    ...((price?.cached_input_per_mtok ?? known?.cached_input_per_mtok) === undefined
      ? {}
      : { cached_input_per_mtok: price?.cached_input_per_mtok ?? known?.cached_input_per_mtok }),
    context_window: context_window ?? known?.context_window ?? Number.MAX_SAFE_INTEGER,
    capabilities: capabilities ?? known?.capabilities ?? ['tools', 'json_schema', 'streaming', 'vision'],
    tier: tier ?? known?.tier ?? 'standard',
    tags: tags ?? known?.tags ?? [],
  };
}

function present<T>(items: ReadonlyArray<T | undefined>): T[] {
  return items.filter((item): item is T => item !== undefined);
}

function nonEmpty(planner: Planner): Planner | undefined {
  return planner.targets.length === 0 ? undefined : planner;
}

function firstProvider(entry: ModelEntry): string | undefined {
  if (entry.strategy === undefined || entry.strategy === 'single') return entry.provider;
  return undefined;
}
