import type { ModelPrice, PricingConfig } from '../config/observability-schema.ts';
import type { TokenUsage } from '../providers/types.ts';
import { PRICING_CATALOG } from './pricing-catalog.ts';

export type { ModelPrice };

/** What a price is looked up by: a routing target's provider and upstream model. */
export interface PricedTarget {
  readonly provider: { readonly name: string; readonly type: string };
  readonly upstreamModel: string;
}

/** What a target's tokens cost: YAML overrides first, then the bundled catalog. */
export class Pricing {
  readonly #overrides: ReadonlyMap<string, ModelPrice>;
  readonly #catalog: ReadonlyMap<string, ModelPrice>;
  /** Lookups are memoised per target; the bound keeps caller-chosen model names from growing it forever. */
  readonly #memo = new Map<string, ModelPrice | null>();

  constructor(config: PricingConfig, catalog: Readonly<Record<string, ModelPrice>> = PRICING_CATALOG) {
    this.#overrides = new Map(Object.entries(config.models));
    this.#catalog = new Map(Object.entries(catalog));
  }

  readonly #byTarget = new WeakMap<PricedTarget, ModelPrice | null>();

  /** The price of one routing target's tokens, memoised on the target (targets live as long as their routing generation). */
  priceOf(target: PricedTarget): ModelPrice | undefined {
    let found = this.#byTarget.get(target);
    if (found === undefined) {
      found = this.lookup(target.provider.name, target.provider.type, target.upstreamModel) ?? null;
      this.#byTarget.set(target, found);
    }
    return found ?? undefined;
  }

  /** The price of `model` at a provider known by its configured name and its type. */
  lookup(providerName: string, providerType: string, model: string): ModelPrice | undefined {
    const key = `${providerName}\u0000${providerType}\u0000${model}`;
    let found = this.#memo.get(key);
    if (found === undefined) {
      found = this.#find(providerName, providerType, model) ?? null;
      if (this.#memo.size >= 10_000) this.#memo.clear();
      this.#memo.set(key, found);
    }
    return found ?? undefined;
  }

  #find(providerName: string, providerType: string, model: string): ModelPrice | undefined {
    const overrides = this.#overrides;
    const undated = model.replace(/-\d{4}-\d{2}-\d{2}$/, '');
    return (
      overrides.get(`${providerName}/${model}`) ??
      overrides.get(`${providerName}/*`) ??
      overrides.get(`${providerType}/${model}`) ??
      overrides.get(`${providerType}/*`) ??
      this.#catalog.get(`${providerType}/${model}`) ??
      this.#catalog.get(`${providerType}/${undated}`)
    );
  }
}

/**
 * USD for one answer. Cached reads, cache writes and reasoning tokens are priced at
 * their own rates when the price has them, else at the plain input or output rate.
 */
export function costOf(usage: TokenUsage, price: ModelPrice): number {
  const cached = usage.cached_tokens ?? 0;
  const cacheWrite = usage.cache_write_tokens ?? 0;
  const reasoning = usage.reasoning_tokens ?? 0;
  const plainInput = Math.max(0, usage.prompt_tokens - cached - cacheWrite);
  const plainOutput = Math.max(0, usage.completion_tokens - reasoning);
  const micro =
    plainInput * price.input_per_mtok +
    cached * (price.cached_input_per_mtok ?? price.input_per_mtok) +
    cacheWrite * (price.cache_write_per_mtok ?? price.input_per_mtok) +
    plainOutput * price.output_per_mtok +
    reasoning * (price.reasoning_per_mtok ?? price.output_per_mtok);
  return micro / 1_000_000;
}

/** A cost as a plain decimal string (never exponent notation), to 1e-10 USD. */
export function formatUsd(cost: number): string {
  const fixed = cost.toFixed(10);
  const point = fixed.indexOf('.');
  if (point === -1) return fixed;
  let end = fixed.length;
  while (end > point + 1 && fixed.charCodeAt(end - 1) === 48 /* 0 */) end--;
  return end === point + 1 ? fixed.slice(0, point) : fixed.slice(0, end);
}
