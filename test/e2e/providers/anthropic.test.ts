import { expect } from 'vitest';
import { ANTHROPIC_KEY, anthropicDialect } from '../../fakes/providers/anthropic.ts';
import { startFakeProvider } from '../../fakes/providers/harness.ts';
import { describeProvider } from './suite.ts';

describeProvider({
  type: 'anthropic',
  startFake: () => startFakeProvider(anthropicDialect, '/v1'),
  providerYaml: (url, credential) =>
    `type: anthropic\nbase_url: ${url}\napi_key: ${credential === 'valid' ? ANTHROPIC_KEY : 'sk-ant-wrong'}`,
  retryAfter: '7',
  refusedField: 'logit_bias',
  imageUrls: 'sent',
  checkRequest(call) {
    expect(call.headers['anthropic-version']).toBe('2023-06-01');
    expect(call.headers['authorization']).toBeUndefined();
    expect(call.body).toMatchObject({ system: 'Be brief.', max_tokens: 50, temperature: 0.2, metadata: { user_id: 'user-1' } });
  },
});
