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
