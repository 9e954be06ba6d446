import OpenAI from 'openai';
import { expect, it } from 'vitest';
import { startFakeProvider } from '../../fakes/providers/harness.ts';
import { AZURE_API_VERSION, FAKE_KEY, azureDialect } from '../../fakes/providers/openai-like.ts';
import { startGateway } from '../../support/gateway-process.ts';
import { describeProvider } from './suite.ts';

describeProvider({
  type: 'azure-openai',
  startFake: () => startFakeProvider(azureDialect),
  providerYaml: (url, credential) =>
    `type: azure-openai\nendpoint: ${url}\napi_version: '${AZURE_API_VERSION}'\napi_key: ${credential === 'valid' ? FAKE_KEY : 'wrong-key'}`,
  retryAfter: '5',
  imageUrls: 'sent',
  checkRequest(call) {
    expect(call.path).toBe(`/openai/deployments/m-text/chat/completions?api-version=${AZURE_API_VERSION}`);
    expect(call.headers['api-key']).toBe(FAKE_KEY);
    expect(call.headers['authorization']).toBeUndefined();
  },
});

it('embeds through the deployment URL, and sends an Entra token as a bearer', async () => {
  const fake = await startFakeProvider(azureDialect);
  const gateway = await startGateway({
    config: `providers:\n  az:\n    type: azure-openai\n    endpoint: ${fake.url}\n    api_key: ${FAKE_KEY}\n  entra:\n    type: azure-openai\n    endpoint: ${fake.url}\n    entra_token: entra-token-123\n`,
  });
  try {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const list = await client.embeddings.create({ model: 'az/embed-deployment', input: ['a', 'b'], encoding_format: 'float' });
    expect(list.data).toHaveLength(2);
    expect(fake.requests.at(-1)?.path).toBe(`/openai/deployments/embed-deployment/embeddings?api-version=${AZURE_API_VERSION}`);
    await expect(client.chat.completions.create({ model: 'entra/dep', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 401,
    });
    expect(fake.requests.at(-1)?.headers['authorization']).toBe('Bearer entra-token-123');
  } finally {
    await gateway.stop();
    await fake.close();
  }
});
