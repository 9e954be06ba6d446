import { expect, it } from 'vitest';
import OpenAI from 'openai';
import { GOOGLE_KEY, googleDialect } from '../../fakes/providers/google.ts';
import { startFakeProvider } from '../../fakes/providers/harness.ts';
import { describeProvider } from './suite.ts';

describeProvider({
  type: 'google',
  startFake: () => startFakeProvider(googleDialect, '/v1beta'),
  providerYaml: (url, credential) => `type: google\nbase_url: ${url}\napi_key: ${credential === 'valid' ? GOOGLE_KEY : 'AIza-wrong'}`,
  retryAfter: '35',
  refusedField: 'logit_bias',
  imageUrls: 'sent',
  checkRequest(call) {
    expect(call.path).toBe('/v1beta/models/m-text:generateContent');
    expect(call.headers['x-goog-api-key']).toBe(GOOGLE_KEY);
    expect(call.body).toMatchObject({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { maxOutputTokens: 50, temperature: 0.2 },
    });
  },
});

it('embeds through batchEmbedContents', async () => {
  const { startGateway } = await import('../../support/gateway-process.ts');
  const fake = await startFakeProvider(googleDialect, '/v1beta');
  const gateway = await startGateway({
    config: `providers:\n  g:\n    type: google\n    base_url: ${fake.url}\n    api_key: ${GOOGLE_KEY}\n`,
  });
  try {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const list = await client.embeddings.create({ model: 'g/text-embedding-004', input: ['a', 'b'], encoding_format: 'float' });
    expect(list.data.map((item) => item.embedding)).toEqual([
      [0.1, 0.2, -0.3],
      [0.2, 0.2, -0.3],
    ]);
    expect(fake.requests.at(-1)?.body).toMatchObject({
      requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'a' }] } }, {}],
    });
  } finally {
    await gateway.stop();
    await fake.close();
  }
});
