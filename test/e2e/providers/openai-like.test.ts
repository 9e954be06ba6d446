import { expect } from 'vitest';
import type { Dialect } from '../../fakes/providers/harness.ts';
import { startFakeProvider } from '../../fakes/providers/harness.ts';
import { FAKE_KEY, deepseekDialect, groqDialect, mistralDialect, xaiDialect } from '../../fakes/providers/openai-like.ts';
import { describeProvider } from './suite.ts';

/** The OpenAI-like providers: same suite, each against a fake with its own quirks. */
const PROVIDERS: { type: string; dialect: Dialect; prefix: string; retryAfter: string; jsonSchema?: 'refused'; refusedField?: string }[] = [
  { type: 'mistral', dialect: mistralDialect, prefix: '/v1', retryAfter: '6', refusedField: 'logit_bias' },
  { type: 'groq', dialect: groqDialect, prefix: '/openai/v1', retryAfter: '3', refusedField: 'logit_bias' },
  { type: 'deepseek', dialect: deepseekDialect, prefix: '/v1', retryAfter: '2', jsonSchema: 'refused', refusedField: 'logit_bias' },
  { type: 'xai', dialect: xaiDialect, prefix: '/v1', retryAfter: '4' },
];

for (const provider of PROVIDERS) {
  describeProvider({
    type: provider.type,
    startFake: () => startFakeProvider(provider.dialect, provider.prefix),
    providerYaml: (url, credential) =>
      `type: ${provider.type}\nbase_url: ${url}\napi_key: ${credential === 'valid' ? FAKE_KEY : 'wrong-key'}`,
    retryAfter: provider.retryAfter,
    imageUrls: 'sent',
    ...(provider.jsonSchema ? { jsonSchema: provider.jsonSchema } : {}),
    ...(provider.refusedField ? { refusedField: provider.refusedField } : {}),
    checkRequest(call) {
      expect(call.headers['authorization']).toBe(`Bearer ${FAKE_KEY}`);
      expect(call.body).toMatchObject({ model: 'm-text', temperature: 0.2 });
    },
  });
}
