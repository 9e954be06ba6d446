import { expect } from 'vitest';
import { startFakeProvider } from '../../fakes/providers/harness.ts';
import { FAKE_KEY, xaiDialect } from '../../fakes/providers/openai-like.ts';
import { describeProvider } from './suite.ts';

describeProvider({
  type: 'xai',
  startFake: () => startFakeProvider(xaiDialect, '/v1'),
  providerYaml: (url, credential) => `type: xai\nbase_url: ${url}\napi_key: ${credential === 'valid' ? FAKE_KEY : 'wrong-key'}`,
  retryAfter: '4',
  imageUrls: 'sent',
  checkRequest(call) {
    expect(call.headers['authorization']).toBe(`Bearer ${FAKE_KEY}`);
    expect(call.body).toMatchObject({ model: 'm-text', temperature: 0.2 });
  },
});
