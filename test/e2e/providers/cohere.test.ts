import OpenAI from 'openai';
import { expect, it } from 'vitest';
import { COHERE_KEY, cohereDialect } from '../../fakes/providers/cohere.ts';
import { startFakeProvider } from '../../fakes/providers/harness.ts';
import { startGateway } from '../../support/gateway-process.ts';
import { describeProvider } from './suite.ts';

describeProvider({
  type: 'cohere',
  startFake: () => startFakeProvider(cohereDialect),
  providerYaml: (url, credential) => `type: cohere\nbase_url: ${url}\napi_key: ${credential === 'valid' ? COHERE_KEY : 'co-wrong'}`,
  refusedField: 'logit_bias',
  imageUrls: 'sent',
  checkRequest(call) {
    expect(call.headers['authorization']).toBe(`Bearer ${COHERE_KEY}`);
    expect(call.body).toMatchObject({
      model: 'm-text',
      max_tokens: 50,
      temperature: 0.2,
      messages: [{ role: 'system', content: 'Be brief.' }, {}],
    });
  },
});

it('embeds through /v2/embed, with the tokens billed', async () => {
  const fake = await startFakeProvider(cohereDialect);
  const gateway = await startGateway({
    config: `providers:\n  co:\n    type: cohere\n    base_url: ${fake.url}\n    api_key: ${COHERE_KEY}\n`,
  });
  try {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const list = await client.embeddings.create({ model: 'co/embed-v4.0', input: ['a', 'b'], encoding_format: 'float' });
    expect(list.data.map((item) => item.embedding)).toEqual([
      [0, 0.25],
      [1, 0.25],
    ]);
    expect(list.usage.prompt_tokens).toBe(10);
  } finally {
    await gateway.stop();
    await fake.close();
  }
});
