import OpenAI from 'openai';
import { expect, it } from 'vitest';
import { AWS_KEYS, AWS_REGION, bedrockDialect } from '../../fakes/providers/bedrock.ts';
import { startFakeProvider } from '../../fakes/providers/harness.ts';
import { startGateway } from '../../support/gateway-process.ts';
import { describeProvider } from './suite.ts';

const keysYaml = (secret: string): string => `region: ${AWS_REGION}\naccess_key_id: ${AWS_KEYS.accessKeyId}\nsecret_access_key: ${secret}`;

describeProvider({
  type: 'bedrock',
  startFake: () => startFakeProvider(bedrockDialect()),
  providerYaml: (url, credential) =>
    `type: bedrock\nbase_url: ${url}\n${keysYaml(credential === 'valid' ? AWS_KEYS.secretAccessKey : 'a-wrong-secret')}`,
  authStatus: 403,
  refusedField: 'logit_bias',
  imageUrls: 'refused',
  checkRequest(call) {
    expect(call.path).toBe('/model/m-text/converse');
    expect(String(call.headers['authorization'])).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${AWS_KEYS.accessKeyId}/\\d{8}/${AWS_REGION}/bedrock/aws4_request, SignedHeaders=.*host.*x-amz-date.*, Signature=[0-9a-f]{64}$`,
      ),
    );
    expect(call.body).toMatchObject({ system: [{ text: 'Be brief.' }], inferenceConfig: { maxTokens: 50, temperature: 0.2 } });
  },
});

it('signs model ids with colons and embeds with Titan through InvokeModel', async () => {
  const fake = await startFakeProvider(bedrockDialect());
  const gateway = await startGateway({
    config: `providers:\n  br:\n    type: bedrock\n    base_url: ${fake.url}\n    ${keysYaml(AWS_KEYS.secretAccessKey).replace(/\n/g, '\n    ')}\n`,
  });
  try {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: 'br/anthropic.claude-3-5-haiku-20241022-v1:0',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(answer.choices[0]?.message.content).toBe('You said: hi');
    expect(fake.requests.at(-1)?.path).toBe('/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse');
    const list = await client.embeddings.create({ model: 'br/amazon.titan-embed-text-v2:0', input: 'one text', encoding_format: 'float' });
    expect(list.data[0]?.embedding).toEqual([0.5, -0.5, 0.25]);
    expect(list.usage.prompt_tokens).toBe(3);
    await expect(client.embeddings.create({ model: 'br/amazon.titan-embed-text-v2:0', input: ['a', 'b'] })).rejects.toMatchObject({
      status: 400,
      param: 'input',
    });
  } finally {
    await gateway.stop();
    await fake.close();
  }
});
