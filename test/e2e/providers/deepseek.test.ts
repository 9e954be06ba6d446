import { expect } from 'vitest';
import { startFakeProvider } from '../../fakes/providers/harness.ts';
import { FAKE_KEY, deepseekDialect } from '../../fakes/providers/openai-like.ts';
import { describeProvider } from './suite.ts';

describeProvider({
  type: 'deepseek',
  startFake: () => startFakeProvider(deepseekDialect, '/v1'),
  providerYaml: (url, credential) => `type: deepseek\nbase_url: ${url}\napi_key: ${credential === 'valid' ? FAKE_KEY : 'wrong-key'}`,
  retryAfter: '2',
  imageUrls: 'sent',
  jsonSchema: 'refused',
  checkRequest(call) {
    expect(call.headers['authorization']).toBe(`Bearer ${FAKE_KEY}`);
    expect(call.body).toMatchObject({ model: 'm-text', temperature: 0.2 });
  },
});
