import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
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

describe('the fake Bedrock, as Converse does', () => {
  const signer = new SignatureV4({ service: 'bedrock', region: AWS_REGION, credentials: AWS_KEYS, sha256: Sha256 });

  /** A Converse request signed as the gateway signs it: the fake's status and its error message, if any. */
  async function converse(url: string, model: string, body: Record<string, unknown>): Promise<{ status: number; message?: string }> {
    const { hostname, port } = new URL(url);
    const path = `/model/${encodeURIComponent(model)}/converse`;
    const text = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }], ...body });
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname,
      port: Number(port),
      path,
      query: {},
      headers: { host: `${hostname}:${port}`, 'content-type': 'application/json' },
      body: text,
    });
    const response = await fetch(`${url}${path}`, { method: 'POST', headers: signed.headers, body: text });
    const answer = (await response.json()) as { message?: string };
    return { status: response.status, ...(response.status === 200 ? {} : { message: answer.message }) };
  }

  it('takes top_k in additionalModelRequestFields for an Anthropic model, refuses it for another, and refuses unknown top-level fields', async () => {
    const fake = await startFakeProvider(bedrockDialect());
    try {
      for (const model of ['anthropic.claude-3-5-haiku-20241022-v1:0', 'us.anthropic.claude-sonnet-4-20250514-v1:0'])
        expect(await converse(fake.url, model, { additionalModelRequestFields: { top_k: 5 } })).toEqual({ status: 200 });
      expect(await converse(fake.url, 'meta.llama3-70b-instruct-v1:0', { additionalModelRequestFields: { top_k: 5 } })).toEqual({
        status: 400,
        message: expect.stringMatching(/extraneous key \[top_k\] is not permitted/) as string,
      });
      expect(
        await converse(fake.url, 'anthropic.claude-3-5-haiku-20241022-v1:0', { additionalModelRequestFields: { topK: 5 } }),
      ).toMatchObject({
        status: 400,
        message: expect.stringMatching(/extraneous key \[topK\]/) as string,
      });
      expect(
        await converse(fake.url, 'anthropic.claude-3-5-haiku-20241022-v1:0', { additionalModelRequestFields: { top_k: 'five' } }),
      ).toMatchObject({
        status: 400,
      });
      expect(await converse(fake.url, 'anthropic.claude-3-5-haiku-20241022-v1:0', { top_k: 5 })).toEqual({
        status: 400,
        message: expect.stringMatching(/Value at 'top_k' failed to satisfy constraint/) as string,
      });
      expect(await converse(fake.url, 'anthropic.claude-3-5-haiku-20241022-v1:0', { inferenceConfig: { topK: 5 } })).toEqual({
        status: 400,
        message: 'Unknown field inferenceConfig.topK',
      });
    } finally {
      await fake.close();
    }
  });

  it('takes thinking for a Claude model that thinks, and refuses it elsewhere, with a budget too small or too large, or with sampling changes', async () => {
    const fake = await startFakeProvider(bedrockDialect());
    const thinking = { type: 'enabled', budget_tokens: 2048 };
    const ask = (model: string, body: Record<string, unknown>) =>
      converse(fake.url, model, { additionalModelRequestFields: { thinking }, inferenceConfig: { maxTokens: 4096 }, ...body });
    const refused = (pattern: RegExp) => ({ status: 400, message: expect.stringMatching(pattern) as string });
    try {
      expect(await ask('us.anthropic.claude-sonnet-4-20250514-v1:0', {})).toEqual({ status: 200 });
      expect(await ask('anthropic.claude-3-7-sonnet-20250219-v1:0', { inferenceConfig: { maxTokens: 4096, temperature: 1 } })).toEqual({
        status: 200,
      });
      expect(await ask('anthropic.claude-3-5-haiku-20241022-v1:0', {})).toEqual(refused(/thinking: Extra inputs are not permitted/));
      expect(await ask('meta.llama3-70b-instruct-v1:0', {})).toEqual(refused(/extraneous key \[thinking\]/));
      const sonnet = 'us.anthropic.claude-sonnet-4-20250514-v1:0';
      expect(await ask(sonnet, { additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 512 } } })).toEqual(
        refused(/greater than or equal to 1024/),
      );
      expect(await ask(sonnet, { inferenceConfig: { maxTokens: 2048 } })).toEqual(refused(/`max_tokens` must be greater than/));
      expect(await ask(sonnet, { inferenceConfig: { maxTokens: 4096, temperature: 0.5 } })).toEqual(
        refused(/`temperature` may only be set to 1/),
      );
      expect(await ask(sonnet, { additionalModelRequestFields: { thinking, top_k: 5 } })).toEqual(refused(/`top_k` must be unset/));
      expect(
        await ask(sonnet, {
          toolConfig: {
            tools: [{ toolSpec: { name: 'json', inputSchema: { json: { type: 'object' } } } }],
            toolChoice: { tool: { name: 'json' } },
          },
        }),
      ).toEqual(refused(/forces tool use/));
      expect(
        await ask(sonnet, {
          messages: [
            { role: 'user', content: [{ text: 'hi' }] },
            {
              role: 'assistant',
              content: [{ reasoningContent: { reasoningText: { text: 'made up', signature: 'forged' } } }, { text: 'Hello.' }],
            },
            { role: 'user', content: [{ text: 'again' }] },
          ],
        }),
      ).toEqual(refused(/Invalid `signature`/));
    } finally {
      await fake.close();
    }
  });
});
