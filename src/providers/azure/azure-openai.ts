import type { NativeApi, RelayRequest } from '../types.ts';

/** Azure OpenAI: the deployment and api-version are in the URL; the key goes in `api-key`, an Entra token as a bearer. */
export function azurePaths(apiVersion: string): { chat(model: string): string; embeddings(model: string): string } {
  const query = `?api-version=${encodeURIComponent(apiVersion)}`;
  return {
    chat: (deployment) => `/openai/deployments/${encodeURIComponent(deployment)}/chat/completions${query}`,
    embeddings: (deployment) => `/openai/deployments/${encodeURIComponent(deployment)}/embeddings${query}`,
  };
}

export function azureAuth(kind: 'api_key' | 'entra_token'): (secret: string) => Record<string, string> {
  return kind === 'api_key' ? (secret) => ({ 'api-key': secret }) : (secret) => ({ authorization: `Bearer ${secret}` });
}

/** Azure serves Responses on its v1 API (the deployment is the body's model) and completions per deployment. */
export function azureNative(apiVersion: string): { apis: ReadonlySet<NativeApi>; path(request: RelayRequest, model: string): string } {
  const query = `?api-version=${encodeURIComponent(apiVersion)}`;
  return {
    apis: new Set(['openai-responses', 'openai-completions']),
    path: (request, deployment) =>
      request.api === 'openai-completions'
        ? `/openai/deployments/${encodeURIComponent(deployment)}/completions${query}`
        : `/openai/v1${request.path}`,
  };
}
