import type { Config } from '../config/schema.ts';
import { closeMatches } from '../config/suggest.ts';
import type { Provider } from '../providers/types.ts';
import { GatewayError } from '../server/errors.ts';

export interface Target {
  readonly provider: Provider;
  readonly upstreamModel: string;
}

export interface ListedModel {
  readonly id: string;
  readonly owned_by: string;
}

/**
 * Maps a request's `model` to the upstream that serves it: a configured model name,
 * or `<provider>/<upstream-model>` for any configured provider.
 */
export class ModelResolver {
  readonly #models = new Map<string, Target>();
  readonly #unavailable = new Map<string, string>();
  readonly #providers: ReadonlyMap<string, Provider>;
  readonly #skipped: ReadonlyMap<string, string>;

  constructor(config: Config, providers: ReadonlyMap<string, Provider>, skipped: ReadonlyMap<string, string>) {
    this.#providers = providers;
    this.#skipped = skipped;
    for (const [name, model] of Object.entries(config.models)) {
      const provider = providers.get(model.provider);
      if (provider) this.#models.set(name, { provider, upstreamModel: model.model });
      else this.#unavailable.set(name, model.provider);
    }
  }

  resolve(model: string): Target {
    const configured = this.#models.get(model);
    if (configured) return configured;
    const slash = model.indexOf('/');
    if (slash > 0) {
      const provider = this.#providers.get(model.slice(0, slash));
      if (provider && slash < model.length - 1) return { provider, upstreamModel: model.slice(slash + 1) };
    }
    throw this.#notFound(model);
  }

  list(): ListedModel[] {
    return [...this.#models].map(([id, target]) => ({ id, owned_by: target.provider.name }));
  }

  get modelNames(): string[] {
    return [...this.#models.keys()];
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
    const candidates = [...this.#models.keys(), ...[...this.#providers.keys()].map((name) => `${name}/<model>`)];
    const close = closeMatches(model, candidates);
    const hint =
      close.length > 0 ? ` Did you mean: ${close.join(', ')}?` : ` Known models: ${this.modelNames.slice(0, 20).join(', ') || 'none'}.`;
    return new GatewayError('model_not_found', `The model '${model}' does not exist.${hint}`, { param: 'model' });
  }
}
