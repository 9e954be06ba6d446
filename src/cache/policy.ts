import type { CacheConfig, CachePolicyConfig } from '../config/cache-schema.ts';
import { GatewayError } from '../server/errors.ts';

/** Per-model policies, merged over the defaults once when the config loads. */
export class CachePolicies {
  readonly #defaults: CachePolicyConfig;
  readonly #byModel: ReadonlyMap<string, CachePolicyConfig>;

  constructor(config: CacheConfig) {
    this.#defaults = config.defaults;
    const byModel = new Map<string, CachePolicyConfig>();
    for (const [model, override] of Object.entries(config.models)) {
      const defined = Object.fromEntries(Object.entries(override).filter(([, value]) => value !== undefined));
      byModel.set(model, { ...config.defaults, ...defined });
    }
    this.#byModel = byModel;
  }

  forModel(model: string): CachePolicyConfig {
    return this.#byModel.get(model) ?? this.#defaults;
  }
}

/** What the caller asked for with `x-lightport-cache`. */
export type CacheDirective = 'default' | 'no-cache' | 'no-store' | 'refresh';

const DIRECTIVES = new Set<string>(['no-cache', 'no-store', 'refresh']);
const MAX_TTL_S = 30 * 24 * 3600;

export function parseDirective(header: string | string[] | undefined): CacheDirective {
  if (header === undefined) return 'default';
  const value = (Array.isArray(header) ? header.join(',') : header).trim().toLowerCase();
  if (DIRECTIVES.has(value)) return value as CacheDirective;
  throw new GatewayError('invalid_request', `x-lightport-cache must be no-cache, no-store or refresh; got "${value}".`, {
    param: 'x-lightport-cache',
  });
}

export function parseTtlHeader(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(',') : header;
  const seconds = /^\d{1,8}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(seconds > 0 && seconds <= MAX_TTL_S)) {
    throw new GatewayError('invalid_request', `x-lightport-cache-ttl must be whole seconds from 1 to ${MAX_TTL_S}; got "${value}".`, {
      param: 'x-lightport-cache-ttl',
    });
  }
  return seconds;
}

/** Greedy decoding only, unless the policy allows sampled answers; no temperature means the provider default (1). */
export function isCacheable(policy: CachePolicyConfig, temperature: unknown): boolean {
  if (policy.sampled) return true;
  return temperature === 0;
}
