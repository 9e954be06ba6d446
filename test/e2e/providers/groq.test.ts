import { expect } from 'vitest';
import { startFakeProvider } from '../../fakes/providers/harness.ts';
import { FAKE_KEY, groqDialect } from '../../fakes/providers/openai-like.ts';
import { describeProvider } from './suite.ts';

describeProvider({
  type: 'groq',
  startFake: () => startFakeProvider(groqDialect, '/openai/v1'),
  providerYaml: (url, credential) => `type: groq\nbase_url: ${url}\napi_key: ${credential === 'valid' ? FAKE_KEY : 'wrong-key'}`,
  retryAfter: '3',
  imageUrls: 'sent',
  checkRequest(call) {
    expect(call.headers['authorization']).toBe(`Bearer ${FAKE_KEY}`);
    expect(call.body).toMatchObject({ model: 'm-text', temperature: 0.2 });
  },
});
