import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../config/schema.ts';
import { createMockProvider } from './mock/mock.ts';
import { createOpenAICompatibleProvider } from './openai/openai-compatible.ts';
import type { Provider } from './types.ts';

/** Provider types a caller may name in `x-lightport-provider`, with their defaults. */
export const PASSTHROUGH_TYPES: Readonly<Record<string, { readonly defaultBaseUrl?: string }>> = {
  openai: { defaultBaseUrl: 'https://api.openai.com/v1' },
  'openai-compatible': {},
};

export type ProviderBuild = { readonly provider: Provider } | { readonly skipped: string };

export function buildProvider(name: string, config: ProviderConfig, dispatcher: Dispatcher, defaultTimeoutMs: number): ProviderBuild {
  switch (config.type) {
    case 'mock':
      return { provider: createMockProvider(name, config) };
    case 'openai': {
      if (!config.api_key) return { skipped: 'no api_key' };
      const headers: Record<string, string> = { ...config.headers };
      if (config.organization) headers['openai-organization'] = config.organization;
      if (config.project) headers['openai-project'] = config.project;
      const description = {
        name,
        type: config.type,
        baseUrl: config.base_url,
        apiKey: config.api_key,
        headers,
        timeoutMs: config.timeout_ms ?? defaultTimeoutMs,
        streamUsage: config.stream_usage,
      };
      return { provider: createOpenAICompatibleProvider(description, dispatcher) };
    }
    case 'openai-compatible': {
      const description = {
        name,
        type: config.type,
        baseUrl: config.base_url,
        headers: config.headers,
        timeoutMs: config.timeout_ms ?? defaultTimeoutMs,
        streamUsage: config.stream_usage,
      };
      return {
        provider: createOpenAICompatibleProvider(config.api_key ? { ...description, apiKey: config.api_key } : description, dispatcher),
      };
    }
  }
}
