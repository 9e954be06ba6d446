import type { Dispatcher } from 'undici';
import { GatewayError } from '../server/errors.ts';
import { PASSTHROUGH_TYPES } from './catalog.ts';
import { createOpenAICompatibleProvider } from './openai/openai-compatible.ts';
import { UpstreamGuard, type UpstreamPolicy } from './ssrf-guard.ts';
import type { Provider } from './types.ts';

export interface PassthroughTarget {
  readonly provider: Provider;
  readonly callerApiKey: string;
  /** Where the provider sends requests: the provider's name is only its type. */
  readonly baseUrl: string;
}

const MOST_CACHED = 256;

/**
 * Bring-your-own-key: the caller names a provider type and carries its own key.
 * A caller-chosen base URL goes through the SSRF guard; providers are cached per URL.
 */
export class PassthroughProviders {
  readonly #guard: UpstreamGuard;
  readonly #dispatcher: Dispatcher;
  readonly #timeoutMs: number;
  readonly #cache = new Map<string, Provider>();

  constructor(policy: UpstreamPolicy, dispatcher: Dispatcher, timeoutMs: number) {
    this.#guard = new UpstreamGuard(policy);
    this.#dispatcher = dispatcher;
    this.#timeoutMs = timeoutMs;
  }

  resolve(type: string, authorization: string | undefined, baseUrlHeader: string | undefined): PassthroughTarget {
    const known = Object.hasOwn(PASSTHROUGH_TYPES, type) ? PASSTHROUGH_TYPES[type] : undefined;
    if (known === undefined) {
      throw new GatewayError(
        'invalid_request',
        `x-lightport-provider names no provider type or configured provider: "${type}". Types: ${Object.keys(PASSTHROUGH_TYPES).join(', ')}.`,
        { param: 'x-lightport-provider' },
      );
    }
    const callerApiKey = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    if (!callerApiKey) {
      throw new GatewayError('missing_api_key', `Passthrough to "${type}" needs your provider key in the Authorization header (Bearer).`);
    }
    const guarded = baseUrlHeader !== undefined;
    const baseUrl = guarded ? this.#guard.check(baseUrlHeader).href : known.defaultBaseUrl;
    if (baseUrl === undefined) {
      throw new GatewayError('invalid_request', `Passthrough to "${type}" needs x-lightport-base-url.`, { param: 'x-lightport-base-url' });
    }
    const cacheKey = `${type} ${baseUrl}`;
    let provider = this.#cache.get(cacheKey);
    if (provider === undefined) {
      if (this.#cache.size >= MOST_CACHED) this.#cache.delete(this.#cache.keys().next().value ?? '');
      const dispatcher = guarded ? this.#guard.dispatcher : this.#dispatcher;
      provider = createOpenAICompatibleProvider(
        { name: type, type, baseUrl, headers: {}, timeoutMs: this.#timeoutMs, native: known.native },
        dispatcher,
      );
      this.#cache.set(cacheKey, provider);
    }
    return { provider, callerApiKey, baseUrl };
  }

  close(): Promise<void> {
    return this.#guard.dispatcher.close();
  }
}
