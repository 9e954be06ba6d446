import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MODELS, startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const PROVIDER_KEY = 'sk-proj-SECRET-provider-key-do-not-leak-42';
const COMPATIBLE_KEY = 'tok-SECRET-compatible-key-77';
const CALLER_KEY = 'sk-SECRET-caller-byok-key-99';

let upstream: OpenAIUpstream;
let gateway: GatewayProcess;
const seen: string[] = [];

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gateway = await startGateway({
    config: `
logging: { level: trace }
providers:
  openai:
    type: openai
    api_key: \${OPENAI_API_KEY}
    base_url: \${OPENAI_BASE_URL}
  compatible:
    type: openai-compatible
    api_key: ${COMPATIBLE_KEY}
    base_url: \${OPENAI_BASE_URL}
  broken:
    type: openai-compatible
    api_key: \${OPENAI_API_KEY}
    base_url: http://127.0.0.1:1/v1
models:
  fast: { provider: openai, model: gpt-4o-mini }
passthrough:
  allowed_hosts: ["${new URL(upstream.url).host}"]
`,
    env: { OPENAI_API_KEY: PROVIDER_KEY, OPENAI_BASE_URL: upstream.url },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

async function record(path: string, init: RequestInit): Promise<void> {
  const response = await fetch(`${gateway.url}${path}`, init);
  seen.push(JSON.stringify([...response.headers]), await response.text());
}

const chat = (model: string, extra: object = {}) => ({
  method: 'POST',
  body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], ...extra }),
});

describe('secrets never reach logs or responses', () => {
  it('keeps provider and caller keys out of every response and log line', async () => {
    await record('/v1/chat/completions', chat('fast'));
    await record('/v1/chat/completions', chat('fast', { stream: true }));
    await record('/v1/chat/completions', chat('compatible/gpt-4o-mini'));
    await record('/v1/chat/completions', chat(`openai/${FAKE_MODELS.serverError}`));
    await record('/v1/chat/completions', chat(`openai/${FAKE_MODELS.rateLimited}`));
    await record('/v1/chat/completions', chat('broken/anything'));
    await record('/v1/chat/completions', chat('no-such-model'));
    await record('/v1/chat/completions', {
      ...chat('m'),
      headers: { 'x-lightport-provider': 'openai-compatible', 'x-lightport-base-url': upstream.url, authorization: `Bearer ${CALLER_KEY}` },
    });
    await record('/v1/chat/completions', {
      ...chat('m'),
      headers: {
        'x-lightport-provider': 'openai-compatible',
        'x-lightport-base-url': 'http://10.9.9.9/',
        authorization: `Bearer ${CALLER_KEY}`,
      },
    });
    await record('/v1/embeddings', { method: 'POST', body: JSON.stringify({ model: 'openai/text-embedding-3-small', input: 'x' }) });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: CALLER_KEY, maxRetries: 0 });
    await client.models.list();

    // The keys did reach the upstream, so their absence below means something.
    const authorizations = upstream.requests.map((request) => request.headers['authorization']);
    expect(authorizations).toContain(`Bearer ${PROVIDER_KEY}`);
    expect(authorizations).toContain(`Bearer ${COMPATIBLE_KEY}`);
    expect(authorizations).toContain(`Bearer ${CALLER_KEY}`);

    const exitCode = await gateway.stop();
    expect(exitCode).toBe(0);
    const { stdout, stderr } = gateway.output();
    expect(stdout).toContain('"msg":"request"');
    for (const secret of [PROVIDER_KEY, COMPATIBLE_KEY, CALLER_KEY, 'SECRET']) {
      expect(stdout).not.toContain(secret);
      expect(stderr).not.toContain(secret);
      for (const text of seen) expect(text).not.toContain(secret);
    }
  });
});
