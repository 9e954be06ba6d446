import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { expect, it } from 'vitest';
import { startFakeProvider } from '../../fakes/providers/harness.ts';
import { AZURE_API_VERSION, AZURE_ENTRA_TOKEN, FAKE_KEY, azureDialect } from '../../fakes/providers/openai-like.ts';
import { apiErrorOf } from '../../support/api-error.ts';
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

/** An App Service managed-identity endpoint (IDENTITY_ENDPOINT), answering as `answer` says; counts its calls. */
async function identityEndpoint(answer: 'token' | 'refuse'): Promise<{ url: string; calls: () => number; close(): Promise<void> }> {
  let calls = 0;
  const server = createServer((req, res) => {
    calls++;
    const url = new URL(req.url ?? '/', 'http://x');
    if (answer === 'refuse' || req.headers['x-identity-header'] !== IDENTITY_HEADER || url.searchParams.get('resource') === null) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_request', error_description: 'Identity not found' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    res.end(
      JSON.stringify({
        access_token: AZURE_ENTRA_TOKEN,
        expires_on: String(expiresOn),
        resource: url.searchParams.get('resource'),
        token_type: 'Bearer',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`,
    calls: () => calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const IDENTITY_HEADER = 'identity-header-secret';

it('gets an Entra ID token from the managed identity, sends it as a bearer, and reuses it until it nears expiry', async () => {
  const [fake, identity] = await Promise.all([startFakeProvider(azureDialect), identityEndpoint('token')]);
  const gateway = await startGateway({
    config: `providers:\n  az:\n    type: azure-openai\n    endpoint: ${fake.url}\n    api_version: '${AZURE_API_VERSION}'\n    entra: {}\n`,
    env: { IDENTITY_ENDPOINT: identity.url, IDENTITY_HEADER },
  });
  try {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const answers = await Promise.all(
      [1, 2, 3].map(() => client.chat.completions.create({ model: 'az/m-text', messages: [{ role: 'user', content: 'hello' }] })),
    );
    expect(answers.map((answer) => answer.choices[0]?.message.content)).toEqual(Array(3).fill('You said: hello'));
    expect(fake.requests.at(-1)?.headers['authorization']).toBe(`Bearer ${AZURE_ENTRA_TOKEN}`);
    expect(fake.requests.at(-1)?.headers['api-key']).toBeUndefined();
    expect(identity.calls()).toBe(1);
    // The token never reaches the gateway's output (stopped first, so every line is written).
    expect(await gateway.stop()).toBe(0);
    expect(gateway.output().stdout).toContain('"msg":"request"');
    expect(JSON.stringify(gateway.output())).not.toContain(AZURE_ENTRA_TOKEN);
  } finally {
    await gateway.stop();
    await Promise.all([fake.close(), identity.close()]);
  }
});

it('answers 401 entra_token_unavailable, naming the provider, when no token can be had', async () => {
  const [fake, identity] = await Promise.all([startFakeProvider(azureDialect), identityEndpoint('refuse')]);
  const gateway = await startGateway({
    config: `providers:\n  az:\n    type: azure-openai\n    endpoint: ${fake.url}\n    entra: {}\n`,
    env: { IDENTITY_ENDPOINT: identity.url, IDENTITY_HEADER },
  });
  try {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const failure = await apiErrorOf(
      client.chat.completions.create({ model: 'az/m-text', messages: [{ role: 'user', content: 'hello' }] }),
    );
    expect(failure?.status).toBe(401);
    expect(failure?.code).toBe('entra_token_unavailable');
    expect(failure?.message).toContain("Could not get a Microsoft Entra ID token for provider 'az'");
    expect(fake.requests).toHaveLength(0);
  } finally {
    await gateway.stop();
    await Promise.all([fake.close(), identity.close()]);
  }
});
