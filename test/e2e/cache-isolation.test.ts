import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

// Which tenant, which plan and which upstream an answer was cached for must all be part of its key.
const ALPHA = 'lp-alpha-0123456789abcdef';
const BRAVO = 'lp-bravo-0123456789abcdef';

let cheap: OpenAIUpstream;
let premium: OpenAIUpstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  [cheap, premium] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream()]);
  gateway = await startGateway({
    config: `
providers:
  a: { type: openai-compatible, base_url: "\${CHEAP_URL}", api_key: sk-a-0123456789 }
  b: { type: openai-compatible, base_url: "\${PREMIUM_URL}", api_key: sk-b-0123456789 }
models:
  cheap: { strategy: fallback, targets: [a/gpt-4o-mini, a/gpt-4o] }
  premium: { strategy: fallback, targets: [b/gpt-4o-mini, b/gpt-4o] }
  by-plan:
    strategy: conditional
    rules:
      - when: 'request.metadata.plan == "free"'
        target: cheap
    default: premium
auth:
  enabled: true
  keys:
    - { name: alpha, key: ${ALPHA} }
    - { name: bravo, key: ${BRAVO} }
passthrough:
  enabled: true
  allowed_hosts: ['127.0.0.1']
  allow_private_networks: true
cache: { enabled: true }
`,
    env: { CHEAP_URL: cheap.url, PREMIUM_URL: premium.url },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([cheap?.close(), premium?.close()]);
});

async function ask(question: string, headers: Record<string, string>, model = 'by-plan'): Promise<string | null> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, temperature: 0, messages: [{ role: 'user', content: question }] }),
  });
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  return response.headers.get('x-lightport-cache');
}

const as = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...extra });

describe('the cache keeps answers apart', () => {
  it('per gateway key, with auth on (the auth stage takes the Authorization header the cache used to read)', async () => {
    expect(await ask('my secret plan', as(ALPHA))).toBe('miss');
    expect(await ask('my secret plan', as(BRAVO))).toBe('miss');
    expect(premium.chatRequests()).toBe(2);
    expect(await ask('my secret plan', as(ALPHA))).toBe('hit-exact');
    expect(await ask('my secret plan', { 'x-lightport-key': BRAVO })).toBe('hit-exact');
    expect(premium.chatRequests()).toBe(2);
  });

  it('per plan that routing rules chose, when the plans have several targets', async () => {
    const before = { cheap: cheap.chatRequests(), premium: premium.chatRequests() };
    expect(await ask('which tier am I on?', as(ALPHA, { 'x-lightport-metadata': '{"plan":"free"}' }))).toBe('miss');
    expect(await ask('which tier am I on?', as(ALPHA, { 'x-lightport-metadata': '{"plan":"enterprise"}' }))).toBe('miss');
    expect(await ask('which tier am I on?', as(ALPHA, { 'x-lightport-metadata': '{"plan":"free"}' }))).toBe('hit-exact');
    expect(cheap.chatRequests() - before.cheap).toBe(1);
    expect(premium.chatRequests() - before.premium).toBe(1);
  });

  it('per passthrough upstream, whose provider is named by its type only', async () => {
    const before = { cheap: cheap.chatRequests(), premium: premium.chatRequests() };
    for (const upstream of [cheap, premium]) {
      const headers = {
        'x-lightport-key': ALPHA,
        authorization: 'Bearer sk-caller-0123456789',
        'x-lightport-provider': 'openai-compatible',
        'x-lightport-base-url': upstream.url,
      };
      expect(await ask('bring your own upstream', headers, 'gpt-4o-mini')).toBe('miss');
    }
    expect(cheap.chatRequests() - before.cheap).toBe(1);
    expect(premium.chatRequests() - before.premium).toBe(1);
  });
});
