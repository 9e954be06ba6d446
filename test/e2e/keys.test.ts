import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const CI_KEY = 'lp-SECRET-ci-key-0123456789';
const HASHED_KEY = 'lp-SECRET-hashed-key-9876543210';
const ADMIN_KEY = 'SECRET-admin-key-0123456789abcdef';
const PROVIDER_KEY = 'sk-SECRET-provider-key-42';
const CALLER_KEY = 'sk-SECRET-caller-byok-77';
const issued: string[] = [];
const seen: string[] = [];

let upstream: OpenAIUpstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  const state = join(mkdtempSync(join(tmpdir(), 'lp-keys-')), 'state.db');
  gateway = await startGateway({
    config: `
providers:
  mock: { type: mock }
  openai:
    type: openai
    api_key: \${OPENAI_API_KEY}
    base_url: \${OPENAI_BASE_URL}
models:
  echo: { provider: mock, model: mock-echo-1 }
  restricted: { provider: mock, model: mock-echo-2 }
passthrough:
  allowed_hosts: ["${new URL(upstream.url).host}"]
mcp:
  # Down on purpose: a request the key lets through reaches the MCP stage, which says so in a header.
  servers:
    docs: { transport: http, url: "http://127.0.0.1:1/mcp", connect_timeout_ms: 300, sse_fallback: false }
    github: { transport: http, url: "http://127.0.0.1:1/mcp", connect_timeout_ms: 300, sse_fallback: false }
    filesystem: { transport: http, url: "http://127.0.0.1:1/mcp", connect_timeout_ms: 300, sse_fallback: false }
  policies:
    - { models: ['*'], opt_in_servers: [docs, github, filesystem] }
admin:
  key: \${ADMIN_KEY}
auth:
  enabled: true
  keys:
    - name: ci
      key: \${CI_KEY}
      team: platform
      models: [echo, 'openai/*', 'gpt-*']
      mcp: { servers: [docs], tools: { github: [search_code, get_issue] } }
    - name: hashed
      key_sha256: ${createHash('sha256').update(HASHED_KEY).digest('hex')}
state:
  store: { type: sqlite, path: ${state} }
`,
    env: { CI_KEY, ADMIN_KEY, OPENAI_API_KEY: PROVIDER_KEY, OPENAI_BASE_URL: upstream.url },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: { code: string; message: string; type: string }; key?: string; data?: unknown[] } & Record<string, unknown>;
}

async function call(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  seen.push(text);
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as Answer['body'] };
}

const chat = (model = 'echo', extra: object = {}) => ({ model, messages: [{ role: 'user', content: 'hello' }], ...extra });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

function mcp(server: string, tools?: string[]) {
  return { tools: [{ type: 'mcp', server_label: server, ...(tools ? { allowed_tools: tools } : {}), require_approval: 'never' }] };
}

describe('gateway keys', () => {
  it('refuses a request without a key, naming where the key goes but no key that exists', async () => {
    const { status, body } = await call('/v1/chat/completions', { body: chat() });
    expect(status).toBe(401);
    expect(body.error).toMatchObject({ code: 'missing_gateway_key', type: 'authentication_error' });
    expect(body.error?.message).toContain('x-lightport-key');
    expect(body.error?.message).not.toMatch(/\bci\b|hashed/);
  });

  it('refuses a wrong key with 401 before reading the body or resolving the model', async () => {
    const { status, body } = await call('/v1/chat/completions', { body: chat('no-such-model'), headers: bearer('lp-not-a-key-000000000') });
    expect(status).toBe(401);
    expect(body.error?.code).toBe('invalid_gateway_key');
    expect((await call('/v1/models', { headers: { 'x-lightport-key': `${CI_KEY}x` } })).status).toBe(401);
  });

  it('accepts keys from the environment or stored as SHA-256, in Authorization or x-lightport-key, through the openai SDK', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: CI_KEY, maxRetries: 0 });
    const completion = await client.chat.completions.create(chat() as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(completion.choices[0]?.message.content).toBe('hello');
    expect((await call('/v1/chat/completions', { body: chat(), headers: { 'x-lightport-key': HASHED_KEY } })).status).toBe(200);
    expect((await call('/v1/chat/completions', { body: chat('restricted'), headers: bearer(HASHED_KEY) })).status).toBe(200);
  });

  it('checks every request of a keep-alive connection on its own: the key verified before it is no pass', async () => {
    // One connection: the gateway remembers the last key verified on it and compares the next request's header with it.
    const connection = new Pool(gateway.url, { connections: 1 });
    const sockets = new Set<unknown>();
    connection.on('connect', (_origin, [client]) => sockets.add(client));
    const status = async (headers: Record<string, string>): Promise<number> => {
      const response = await connection.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await response.body.text();
      return response.statusCode;
    };
    try {
      expect(await status({ authorization: `Bearer ${CI_KEY}` })).toBe(200);
      expect(await status({ authorization: `Bearer ${CI_KEY}x` })).toBe(401);
      expect(await status({ authorization: `Basic ${CI_KEY}` })).toBe(401);
      // In x-lightport-key the header's whole text is the key: "Bearer <key>" there is not the key.
      expect(await status({ 'x-lightport-key': `Bearer ${CI_KEY}` })).toBe(401);
      expect(await status({ authorization: `Bearer ${CI_KEY}` })).toBe(200);
      expect(await status({ 'x-lightport-key': CI_KEY })).toBe(200);
      expect(await status({ authorization: `Bearer ${HASHED_KEY}` })).toBe(200);
      expect(await status({})).toBe(401);
      expect(sockets.size).toBe(1);
    } finally {
      await connection.close();
    }
  });

  it('refuses a model the key may not use with 403, and lists only the models it may', async () => {
    const { status, body } = await call('/v1/chat/completions', { body: chat('restricted'), headers: bearer(CI_KEY) });
    expect(status).toBe(403);
    expect(body.error).toMatchObject({ code: 'model_not_allowed', type: 'permission_error' });
    expect(body.error?.message).toContain("'restricted'");
    // A model that does not exist is refused the same way, so the 404's list of known models never reaches the key.
    for (const route of ['/v1/chat/completions', '/v1/embeddings']) {
      const request = route === '/v1/embeddings' ? { model: 'no-such-model', input: 'x' } : chat('no-such-model');
      const unknown = await call(route, { body: request, headers: bearer(CI_KEY) });
      expect(unknown.status).toBe(403);
      expect(unknown.body.error).toMatchObject({ code: 'model_not_allowed', param: 'model' });
      expect(unknown.body.error?.message).not.toContain('restricted');
    }
    const models = await call('/v1/models', { headers: bearer(CI_KEY) });
    expect((models.body.data as Array<{ id: string }>).map((model) => model.id)).toEqual(['echo']);
    // One model by name is refused the same way; HEAD works where GET does, and POST is the wrong method.
    const one = await call('/v1/models/restricted', { headers: bearer(CI_KEY) });
    expect(one.status).toBe(403);
    expect(one.body.error).toMatchObject({ code: 'model_not_allowed', param: 'model' });
    expect((await call('/v1/models/echo', { headers: bearer(CI_KEY) })).body).toMatchObject({ id: 'echo', object: 'model' });
    expect((await fetch(`${gateway.url}/v1/models/echo`, { method: 'HEAD', headers: bearer(CI_KEY) })).status).toBe(200);
    expect((await fetch(`${gateway.url}/v1/models/restricted`, { method: 'HEAD', headers: bearer(CI_KEY) })).status).toBe(403);
    const post = await call('/v1/models/echo', { method: 'POST', headers: bearer(CI_KEY) });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('refuses MCP servers and tools the key may not use, from the header or from mcp tool entries', async () => {
    const headers = bearer(CI_KEY);
    const allowed = await call('/v1/chat/completions', { body: chat(), headers: { ...headers, 'x-lightport-mcp': 'docs, github' } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-lightport-mcp-unavailable')).toBe('docs,github');
    const server = await call('/v1/chat/completions', { body: chat(), headers: { ...headers, 'x-lightport-mcp': 'docs,filesystem' } });
    expect(server.status).toBe(403);
    expect(server.body.error).toMatchObject({ code: 'mcp_not_allowed', message: "This key may not use the MCP server 'filesystem'." });
    const tool = await call('/v1/chat/completions', { body: chat('echo', mcp('github', ['search_code', 'delete_repo'])), headers });
    expect(tool.status).toBe(403);
    expect(tool.body.error?.message).toBe("This key may not use the tool 'delete_repo' of the MCP server 'github'.");
    const oneTool = await call('/v1/chat/completions', { body: chat('echo', mcp('github', ['search_code'])), headers });
    expect(oneTool.status).toBe(200);
    expect(oneTool.headers.get('x-lightport-mcp-unavailable')).toBe('github');
    expect((await call('/v1/chat/completions', { body: chat('echo', mcp('docs')), headers })).status).toBe(200);
    // The hashed key may use every server.
    expect((await call('/v1/chat/completions', { body: chat('echo', mcp('filesystem')), headers: bearer(HASHED_KEY) })).status).toBe(200);
  });

  it('keeps passthrough working: the gateway key in x-lightport-key, the provider key in Authorization', async () => {
    const passthrough = { 'x-lightport-provider': 'openai-compatible', 'x-lightport-base-url': upstream.url };
    const ok = await call('/v1/chat/completions', {
      body: chat('gpt-4o-mini'),
      headers: { ...passthrough, 'x-lightport-key': CI_KEY, ...bearer(CALLER_KEY) },
    });
    expect(ok.status).toBe(200);
    expect(upstream.requests.at(-1)?.headers['authorization']).toBe(`Bearer ${CALLER_KEY}`);
    // With only the gateway key in Authorization, it is used up by auth and never forwarded.
    const count = upstream.requests.length;
    const refused = await call('/v1/chat/completions', { body: chat('gpt-4o-mini'), headers: { ...passthrough, ...bearer(CI_KEY) } });
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe('missing_api_key');
    expect(upstream.requests.length).toBe(count);
  });
});

describe('admin API for keys', () => {
  it('refuses every admin route without the admin key, or with a wrong one', async () => {
    for (const [path, method] of [
      ['/admin/keys', 'GET'],
      ['/admin/keys', 'POST'],
      ['/admin/keys/ci/rotate', 'POST'],
      ['/admin/keys/ci/revoke', 'POST'],
      ['/admin/spend', 'GET'],
    ] as const) {
      const none = await call(path, { method, ...(method === 'POST' ? { body: { name: 'x' } } : {}) });
      expect(none.status).toBe(401);
      expect(none.body.error?.code).toBe('admin_unauthorized');
      expect((await call(path, { method, headers: bearer(CI_KEY) })).status).toBe(401);
      expect((await call(path, { method, headers: { 'x-lightport-admin-key': `${ADMIN_KEY}0` } })).status).toBe(401);
    }
  });

  it('creates a key whose secret is shown once, and lists keys without secrets', async () => {
    const created = await call('/admin/keys', {
      body: { name: 'app', team: 'web', models: ['echo'], metadata: { owner: 'ana' } },
      headers: admin,
    });
    expect(created.status).toBe(201);
    const secret = created.body.key as string;
    issued.push(secret);
    expect(secret).toMatch(/^lp-/);
    expect(created.body).toMatchObject({
      name: 'app',
      source: 'admin',
      team: 'web',
      models: ['echo'],
      metadata: { owner: 'ana' },
      revoked: false,
    });
    expect((await call('/v1/chat/completions', { body: chat(), headers: bearer(secret) })).status).toBe(200);

    const listed = await call('/admin/keys', { headers: admin });
    expect((listed.body.data as Array<{ name: string }>).map((key) => key.name)).toEqual(['app', 'ci', 'hashed']);
    const text = JSON.stringify(listed.body);
    for (const hidden of [secret, secret.slice(7, -4), CI_KEY, HASHED_KEY, createHash('sha256').update(secret).digest('hex')]) {
      expect(text).not.toContain(hidden);
    }
    expect((await call('/admin/keys', { body: { name: 'app' }, headers: admin })).status).toBe(409);
    expect((await call('/admin/keys', { body: { name: 'ci' }, headers: admin })).status).toBe(409);
    const invalid = await call('/admin/keys', { body: { name: 'bad name', models: 'echo' }, headers: admin });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error?.code).toBe('invalid_request');
  });

  it('rotates a key: the old secret stops working at once, the new one works', async () => {
    const created = await call('/admin/keys', { body: { name: 'rotating' }, headers: admin });
    const old = created.body.key as string;
    const rotated = await call('/admin/keys/rotating/rotate', { method: 'POST', headers: admin });
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.key as string;
    issued.push(old, fresh);
    expect(fresh).not.toBe(old);
    const refused = await call('/v1/chat/completions', { body: chat(), headers: bearer(old) });
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe('invalid_gateway_key');
    expect((await call('/v1/chat/completions', { body: chat(), headers: bearer(fresh) })).status).toBe(200);
    expect((await call('/admin/keys/ci/rotate', { method: 'POST', headers: admin })).status).toBe(409);
    expect((await call('/admin/keys/nobody/rotate', { method: 'POST', headers: admin })).status).toBe(404);
  });

  it('revokes a key: it then gets 401 saying so', async () => {
    const created = await call('/admin/keys', { body: { name: 'leaving' }, headers: admin });
    const secret = created.body.key as string;
    issued.push(secret);
    expect((await call('/v1/chat/completions', { body: chat(), headers: bearer(secret) })).status).toBe(200);
    const revoked = await call('/admin/keys/leaving/revoke', { method: 'POST', headers: admin });
    expect(revoked.body).toMatchObject({ name: 'leaving', revoked: true });
    expect(revoked.body['revoked_at']).toEqual(expect.any(String));
    const refused = await call('/v1/chat/completions', { body: chat(), headers: bearer(secret) });
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe('revoked_gateway_key');
    // A new secret for a revoked key would be refused as well: rotating one is a conflict.
    const rotated = await call('/admin/keys/leaving/rotate', { method: 'POST', headers: admin });
    expect(rotated.status).toBe(409);
    expect(rotated.body.error?.message).toMatch(/revoked/);
  });

  it('answers a wrong method with 405 and an allow header naming the right ones', async () => {
    const cases = [
      ['/admin/keys', 'DELETE', 'GET, POST'],
      ['/admin/spend', 'POST', 'GET'],
      ['/admin/limits', 'DELETE', 'GET'],
      ['/admin/keys/ci', 'POST', 'GET'],
      ['/admin/keys/ci/rotate', 'GET', 'POST'],
    ] as const;
    for (const [path, method, allow] of cases) {
      const answer = await call(path, { method, headers: admin });
      expect(answer.status).toBe(405);
      expect(answer.body.error?.code).toBe('method_not_allowed');
      expect(answer.headers.get('allow')).toBe(allow);
    }
  });

  it('answers a malformed percent-escape in a key path with 400, not 500', async () => {
    for (const path of ['/admin/keys/%E0%A4%A/rotate', '/admin/keys/%ZZ']) {
      const answer = await call(path, { method: path.endsWith('rotate') ? 'POST' : 'GET', headers: admin });
      expect(answer.status).toBe(400);
      expect(answer.body.error?.code).toBe('invalid_request');
    }
  });

  it('never writes a key to the logs or into an answer', async () => {
    expect(await gateway.stop()).toBe(0);
    const { stdout, stderr } = gateway.output();
    expect(stdout).toContain('"msg":"request"');
    expect(issued.length).toBeGreaterThanOrEqual(4);
    for (const secret of [CI_KEY, HASHED_KEY, ADMIN_KEY, PROVIDER_KEY, CALLER_KEY, ...issued]) {
      expect(stdout).not.toContain(secret);
      expect(stderr).not.toContain(secret);
    }
    for (const text of seen)
      for (const secret of [CI_KEY, HASHED_KEY, ADMIN_KEY, PROVIDER_KEY, CALLER_KEY]) expect(text).not.toContain(secret);
  });
});
