import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../config/schema.ts';
import { createAnthropicProvider } from './anthropic/anthropic.ts';
import { azureAuth, azureNative, azurePaths } from './azure/azure-openai.ts';
import { EntraBearer, entraFailure } from './azure/entra.ts';
import { createBedrockProvider } from './bedrock/bedrock.ts';
import { createCohereProvider } from './cohere/cohere.ts';
import { DEEPSEEK_QUIRKS } from './deepseek/deepseek.ts';
import { createGoogleProvider } from './google/google.ts';
import { GROQ_QUIRKS } from './groq/groq.ts';
import { MISTRAL_QUIRKS } from './mistral/mistral.ts';
import { createMockProvider } from './mock/mock.ts';
import { createOpenAICompatibleProvider } from './openai/openai-compatible.ts';
import type { OpenAIQuirks } from './openai/quirks.ts';
import type { NativeApi, Provider } from './types.ts';
import { XAI_QUIRKS } from './xai/xai.ts';

/** OpenAI itself serves Responses and legacy completions; an OpenAI-compatible server, completions (Responses only over chat). */
export const OPENAI_NATIVE = { apis: new Set<NativeApi>(['openai-responses', 'openai-completions']) };
export const COMPATIBLE_NATIVE = { apis: new Set<NativeApi>(['openai-completions']) };

/** Provider types a caller may name in `x-lightport-provider`, with their defaults. */
export const PASSTHROUGH_TYPES: Readonly<
  Record<string, { readonly defaultBaseUrl?: string; readonly native: { readonly apis: ReadonlySet<NativeApi> } }>
> = {
  openai: { defaultBaseUrl: 'https://api.openai.com/v1', native: OPENAI_NATIVE },
  'openai-compatible': { native: COMPATIBLE_NATIVE },
};

const OPENAI_LIKE: Readonly<Record<string, OpenAIQuirks>> = {
  mistral: MISTRAL_QUIRKS,
  groq: GROQ_QUIRKS,
  deepseek: DEEPSEEK_QUIRKS,
  xai: XAI_QUIRKS,
};

export type ProviderBuild = { readonly provider: Provider } | { readonly skipped: string };

export function buildProvider(name: string, config: ProviderConfig, dispatcher: Dispatcher, defaultTimeoutMs: number): ProviderBuild {
  const timeoutMs = (config.type === 'mock' ? undefined : config.timeout_ms) ?? defaultTimeoutMs;
  switch (config.type) {
    case 'mock':
      return { provider: createMockProvider(name, config) };
    case 'openai': {
      if (!config.api_key) return { skipped: 'no api_key' };
      const headers: Record<string, string> = { ...config.headers };
      if (config.organization) headers['openai-organization'] = config.organization;
      if (config.project) headers['openai-project'] = config.project;
      const description = { name, type: config.type, baseUrl: config.base_url, apiKey: config.api_key, headers, timeoutMs };
      return {
        provider: createOpenAICompatibleProvider({ ...description, native: OPENAI_NATIVE, streamUsage: config.stream_usage }, dispatcher),
      };
    }
    case 'openai-compatible': {
      const description = {
        name,
        type: config.type,
        baseUrl: config.base_url,
        headers: config.headers,
        timeoutMs,
        native: COMPATIBLE_NATIVE,
        streamUsage: config.stream_usage,
      };
      return {
        provider: createOpenAICompatibleProvider(config.api_key ? { ...description, apiKey: config.api_key } : description, dispatcher),
      };
    }
    case 'mistral':
    case 'groq':
    case 'deepseek':
    case 'xai': {
      if (!config.api_key) return { skipped: 'no api_key' };
      const quirks = OPENAI_LIKE[config.type];
      const description = {
        name,
        type: config.type,
        baseUrl: config.base_url,
        apiKey: config.api_key,
        headers: config.headers,
        timeoutMs,
        streamUsage: config.stream_usage,
      };
      return { provider: createOpenAICompatibleProvider(quirks ? { ...description, quirks } : description, dispatcher) };
    }
    case 'azure-openai': {
      const secret = config.api_key ?? config.entra_token;
      if (!secret && config.entra === undefined) return { skipped: 'no api_key, entra_token or entra' };
      const entra =
        secret || config.entra === undefined
          ? undefined
          : new EntraBearer({ scope: config.entra.scope, managedIdentityClientId: config.entra.managed_identity_client_id });
      const description = {
        name,
        type: config.type,
        baseUrl: config.endpoint,
        ...(secret ? { apiKey: secret } : {}),
        headers: config.headers,
        timeoutMs,
        paths: azurePaths(config.api_version),
        auth: azureAuth(config.api_key ? 'api_key' : 'entra_token'),
        ...(entra === undefined
          ? {}
          : { tokenAuth: { headers: () => entra.headers(), failure: (error: unknown) => entraFailure(name, error) } }),
        native: azureNative(config.api_version),
        streamUsage: config.stream_usage,
      };
      return { provider: createOpenAICompatibleProvider(description, dispatcher) };
    }
    case 'anthropic': {
      if (!config.api_key) return { skipped: 'no api_key' };
      const description = {
        baseUrl: config.base_url,
        apiKey: config.api_key,
        version: config.anthropic_version,
        headers: config.headers,
        timeoutMs,
      };
      return { provider: createAnthropicProvider(name, description, dispatcher) };
    }
    case 'google': {
      if (!config.api_key) return { skipped: 'no api_key' };
      return {
        provider: createGoogleProvider(
          name,
          { baseUrl: config.base_url, apiKey: config.api_key, headers: config.headers, timeoutMs },
          dispatcher,
        ),
      };
    }
    case 'cohere': {
      if (!config.api_key) return { skipped: 'no api_key' };
      return {
        provider: createCohereProvider(
          name,
          { baseUrl: config.base_url, apiKey: config.api_key, headers: config.headers, timeoutMs },
          dispatcher,
        ),
      };
    }
    case 'bedrock':
      return buildBedrock(name, config, dispatcher, timeoutMs);
  }
}

function buildBedrock(
  name: string,
  config: Extract<ProviderConfig, { type: 'bedrock' }>,
  dispatcher: Dispatcher,
  timeoutMs: number,
): ProviderBuild {
  const region = config.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'];
  if (!region) return { skipped: 'no region (set region, or AWS_REGION)' };
  if ((config.access_key_id === undefined) !== (config.secret_access_key === undefined)) {
    return { skipped: 'access_key_id and secret_access_key go together' };
  }
  const keys =
    config.access_key_id && config.secret_access_key
      ? { accessKeyId: config.access_key_id, secretAccessKey: config.secret_access_key, sessionToken: config.session_token }
      : undefined;
  const baseUrl = config.base_url ?? `https://bedrock-runtime.${region}.amazonaws.com`;
  return { provider: createBedrockProvider(name, { region, baseUrl, keys, headers: config.headers, timeoutMs }, dispatcher) };
}
