import type { Config } from '../config/schema.ts';
import { closeMatches } from '../config/suggest.ts';
import type { Provider } from '../providers/types.ts';
import { GatewayError } from '../server/errors.ts';
import { buildRoutes } from './build-routes.ts';
import type { HealthMap } from './health-map.ts';
import { makeTarget } from './build-routes.ts';
import { staticPlanner, type Route, type Target } from './route.ts';

export interface ListedModel {
  readonly id: string;
  readonly owned_by: string;
}

/** `<provider>/<model>` routes made on demand, kept so their health is tracked; bounded. */
const MOST_AD_HOC = 1024;

/**
 * One generation of routing: model names to routes, built from one config. A config
 * reload builds a new table and swaps it in; requests keep the table they started with.
 */
export class RoutingTable {
  readonly config: Config;
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #unavailable: ReadonlyMap<string, string>;
  readonly #providers: ReadonlyMap<string, Provider>;
  readonly #skipped: ReadonlyMap<string, string>;
  readonly #health: HealthMap;
  readonly #adHoc = new Map<string, Route>();

  constructor(config: Config, providers: ReadonlyMap<string, Provider>, skipped: ReadonlyMap<string, string>, health: HealthMap) {
    this.config = config;
    this.#providers = providers;
    this.#skipped = skipped;
    this.#health = health;
    const built = buildRoutes(config, providers, health);
    this.#routes = built.routes;
    this.#unavailable = built.unavailable;
  }

  get providers(): ReadonlyMap<string, Provider> {
    return this.#providers;
  }

  get skipped(): ReadonlyMap<string, string> {
    return this.#skipped;
  }

  /** The route for a request's `model`: a configured name, or `<provider>/<upstream-model>`. */
  resolve(model: string): Route {
    const configured = this.#routes.get(model) ?? this.#adHoc.get(model);
    if (configured) return configured;
    const slash = model.indexOf('/');
    if (slash > 0 && slash < model.length - 1) {
      const provider = this.#providers.get(model.slice(0, slash));
      if (provider) return this.#remember(model, { name: model, planner: staticPlanner([this.target(provider, model.slice(slash + 1))]) });
    }
    throw this.#notFound(model);
  }

  /** A target with the router's defaults, for a provider named directly (`x-lightport-provider`). */
  target(provider: Provider, upstreamModel: string): Target {
    return makeTarget(provider, upstreamModel, this.config.router, this.#health, { transient: true });
  }

  /** Every configured target, once. */
  targets(): Target[] {
    const seen = new Map<string, Target>();
    for (const route of this.#routes.values()) for (const target of route.planner.targets) seen.set(target.id, target);
    return [...seen.values()];
  }

  list(): ListedModel[] {
    return [...this.#routes].map(([id, route]) => ({ id, owned_by: route.planner.targets[0]?.provider.name ?? 'lightport' }));
  }

  get modelNames(): string[] {
    return [...this.#routes.keys()];
  }

  #remember(model: string, route: Route): Route {
    if (this.#adHoc.size >= MOST_AD_HOC) this.#adHoc.delete(this.#adHoc.keys().next().value ?? '');
    this.#adHoc.set(model, route);
    return route;
  }

  #notFound(model: string): GatewayError {
    const slash = model.indexOf('/');
    const providerName = this.#unavailable.get(model) ?? (slash > 0 ? model.slice(0, slash) : undefined);
    const reason = providerName === undefined ? undefined : this.#skipped.get(providerName);
    if (providerName !== undefined && reason !== undefined) {
      return new GatewayError(
        'model_not_found',
        `The model '${model}' needs provider '${providerName}', which was skipped at start-up (${reason}).`,
        { param: 'model' },
      );
    }
    if (this.#unavailable.has(model)) {
      return new GatewayError('model_not_found', `The model '${model}' has no target whose provider is loaded.`, { param: 'model' });
    }
    const candidates = [...this.#routes.keys(), ...[...this.#providers.keys()].map((name) => `${name}/<model>`)];
    const close = closeMatches(model, candidates);
    const hint =
      close.length > 0 ? ` Did you mean: ${close.join(', ')}?` : ` Known models: ${this.modelNames.slice(0, 20).join(', ') || 'none'}.`;
    return new GatewayError('model_not_found', `The model '${model}' does not exist.${hint}`, { param: 'model' });
  }
}
