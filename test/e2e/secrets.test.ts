import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import OpenAI from 'openai';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MODELS, startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { MCP_SERVER_BIN, stdioServer } from '../support/mcp-servers.ts';

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

/**
 * Every other kind of secret a config holds, a passthrough caller's key that is not shaped like
 * one, and Lightport's own keys: none may reach the access log, a request-log row (SQLite or
 * PostgreSQL) or /admin/config, even when a prompt carries them or an upstream echoes them.
 */
const CONFIG_SECRETS = {
  PROVIDER_HEADER: 'hdr-provider-custom-auth-5b1c',
  GATEWAY_KEY: 'gwkey-plaintext-ci-key-8d2e4f',
  ADMIN_KEY: 'adminkey-for-secrets-test-2c7a',
  STORE_PASSWORD: 'storepw-postgres-41ae',
  STATE_REDIS_PASSWORD: 'stateredispw-9f03',
  ROUTER_REDIS_PASSWORD: 'routerredispw-77d1',
  LOG_DB_PASSWORD: 'logdbpw-postgres-6e2b',
  WEBHOOK_SECRET: 'whsecret-hmac-signing-0a9d',
  WEBHOOK_HEADER: 'whheader-auth-value-3c88',
  WEBHOOK_PATH_TOKEN: 'whpathtoken-T0B0X4e1d',
  WEBHOOK_QUERY_TOKEN: 'whquerytoken-52fa',
  MCP_BEARER: 'mcpbearer-token-value-1e6c',
  MCP_HEADER: 'mcpheader-auth-value-d41b',
  MCP_ENV: 'mcpenv-stdio-secret-8a20',
  MCP_ARG: 'mcparg-api-key-value-7b31',
  MCP_ARG_INLINE: 'mcparg-inline-token-2f90',
  ENTRA_TOKEN: 'entra-fixed-access-token-f3b9',
  AWS_SECRET: 'awssecret-access-key-value-6d7e',
  AWS_SESSION: 'awssession-token-value-0c4f',
};
/** A bare 32-hex key, as Together and others issue them: no sk- or Bearer shape to catch. */
const BARE_CALLER_KEY = '4f9c2a7be13d58e0a6b7c9d1e2f30a4b';
/** A key as the admin API makes them: `lp-` and 32 base64url characters, in no config. */
const MINTED_KEY = 'lp-Q3xV9kTz1bN7mWc2Ld8RfY4hJ0sGpE6a';

/** Answers every request with an error that echoes the headers and body it received. */
async function startEchoingUpstream(status: number): Promise<{ url: string; authorizations: string[]; close(): Promise<void> }> {
  const authorizations: string[] = [];
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization ?? '');
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const key = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      const message = `Incorrect API key provided: ${key}; you sent ${JSON.stringify(req.headers)} ${Buffer.concat(parts).toString('utf8')}`;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const run = `${process.pid}_${Date.now()}`;

describe.each(['sqlite', 'postgres'] as const)('config secrets with bodies logged and stored (%s request log)', (backend) => {
  const schema = `lp_secrets_${backend}_${run}`;
  const sqlitePath = join(mkdtempSync(join(tmpdir(), 'lp-secrets-')), 'requests.db');
  let echo: Awaited<ReturnType<typeof startEchoingUpstream>>;
  let mcpEcho: Awaited<ReturnType<typeof startEchoingUpstream>>;
  let secretGateway: GatewayProcess;
  let adminConfig = '';
  /** The secrets this gateway's config holds (the SQLite one has no request-log URL). */
  const configSecrets = (): string[] =>
    Object.entries(CONFIG_SECRETS)
      .filter(([name]) => backend === 'postgres' || name !== 'LOG_DB_PASSWORD')
      .map(([, secret]) => secret);

  beforeAll(async () => {
    echo = await startEchoingUpstream(401);
    mcpEcho = await startEchoingUpstream(500);
    const requestLog =
      backend === 'postgres'
        ? `{ postgres_url: "postgres://postgres:\${LOG_DB_PASSWORD}@127.0.0.1:5432/test", postgres_schema: ${schema}, flush_ms: 20 }`
        : `{ sqlite_path: "${sqlitePath}", flush_ms: 20 }`;
    secretGateway = await startGateway({
      config: `
logging: { level: debug, bodies: all }
request_log: ${requestLog}
providers:
  mock: { type: mock }
  custom:
    type: openai-compatible
    base_url: "${echo.url}/v1"
    headers: { x-custom-auth: "\${PROVIDER_HEADER}" }
  azure:
    type: azure-openai
    endpoint: "${echo.url}"
    entra_token: "\${ENTRA_TOKEN}"
  aws:
    type: bedrock
    region: us-east-1
    base_url: "${echo.url}"
    access_key_id: AKIAEXAMPLEKEYID0001
    secret_access_key: "\${AWS_SECRET}"
    session_token: "\${AWS_SESSION}"
models:
  chat-model: { provider: mock, model: echo-model }
passthrough:
  allowed_hosts: ["${new URL(echo.url).host}"]
  allow_private_networks: true
admin: { key: "\${ADMIN_KEY}" }
auth:
  enabled: true
  keys: [{ name: ci, key: "\${GATEWAY_KEY}" }]
limits: { backend: redis }
state:
  store: { type: postgres, url: "postgres://postgres:\${STORE_PASSWORD}@127.0.0.1:5432/test", schema: ${schema}_state }
  redis: { url: "redis://:\${STATE_REDIS_PASSWORD}@127.0.0.1:6379", prefix: ${schema} }
router:
  redis: { url: "redis://:\${ROUTER_REDIS_PASSWORD}@127.0.0.1:6379", key_prefix: "${schema}:" }
budgets:
  webhook:
    url: "http://127.0.0.1:9/hooks/\${WEBHOOK_PATH_TOKEN}?token=\${WEBHOOK_QUERY_TOKEN}"
    secret: "\${WEBHOOK_SECRET}"
    headers: { x-hook-auth: "\${WEBHOOK_HEADER}" }
mcp:
  servers:
    remote:
      transport: http
      url: "${mcpEcho.url}/mcp"
      bearer_token: "\${MCP_BEARER}"
      headers: { x-mcp-auth: "\${MCP_HEADER}" }
    local: ${stdioServer(MCP_SERVER_BIN.memory, ['--api-key', '${MCP_ARG}', '--token=${MCP_ARG_INLINE}'], 'env: { SERVICE_DSN: "${MCP_ENV}" }')}
`,
      env: CONFIG_SECRETS,
    });
    const gatewayAuth = { 'x-lightport-key': CONFIG_SECRETS.GATEWAY_KEY };
    const everySecret = [...configSecrets(), MINTED_KEY].join(' ');
    // A prompt carrying every secret; the mock echoes it, so the response body carries them too.
    const prompted = await fetch(`${secretGateway.url}/v1/chat/completions`, {
      ...chat('chat-model'),
      headers: gatewayAuth,
      body: JSON.stringify({ model: 'chat-model', messages: [{ role: 'user', content: `remember ${everySecret}` }] }),
    });
    expect(prompted.status).toBe(200);
    // Upstreams that echo the credentials they were sent in an error.
    for (const model of ['custom/gpt-4o-mini', 'azure/gpt-4o-mini']) {
      const echoed = await fetch(`${secretGateway.url}/v1/chat/completions`, { ...chat(model), headers: gatewayAuth });
      expect(echoed.status).toBe(401);
    }
    // The caller's own key comes back in the upstream's error, and (pasted by mistake) in its prompt.
    const passthrough = await fetch(`${secretGateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `my key is ${BARE_CALLER_KEY}` }] }),
      headers: {
        ...gatewayAuth,
        'x-lightport-provider': 'openai-compatible',
        'x-lightport-base-url': `${echo.url}/v1`,
        authorization: `Bearer ${BARE_CALLER_KEY}`,
      },
    });
    expect(passthrough.status).toBe(401);
    // The credentials did reach the echoing upstreams, so their absence below means something.
    expect(echo.authorizations).toEqual(expect.arrayContaining([`Bearer ${BARE_CALLER_KEY}`, `Bearer ${CONFIG_SECRETS.ENTRA_TOKEN}`]));
    expect(mcpEcho.authorizations).toContain(`Bearer ${CONFIG_SECRETS.MCP_BEARER}`);
    const config = await fetch(`${secretGateway.url}/admin/config`, { headers: { authorization: `Bearer ${CONFIG_SECRETS.ADMIN_KEY}` } });
    expect(config.status).toBe(200);
    adminConfig = await config.text();
  }, 30_000);

  afterAll(async () => {
    await secretGateway?.stop();
    await echo?.close();
    await mcpEcho?.close();
    if (backend === 'postgres') {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.query(`DROP SCHEMA IF EXISTS "${schema}_state" CASCADE`);
      await client.end();
    }
  });

  async function storedBodies(): Promise<string[]> {
    if (backend === 'sqlite') {
      const db = new DatabaseSync(sqlitePath, { readOnly: true });
      const rows = db.prepare('SELECT request_body, response_body FROM lightport_request_log').all();
      db.close();
      return rows.map((row) => JSON.stringify(row));
    }
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    const result = await client.query(`SELECT request_body, response_body FROM "${schema}".lightport_request_log`);
    await client.end();
    return result.rows.map((row) => JSON.stringify(row));
  }

  it('keeps every config secret, a bare passthrough key and lp- keys out of the access log and the stored rows', async () => {
    expect(await secretGateway.stop()).toBe(0);
    const { stdout, stderr } = secretGateway.output();
    const accessLines = stdout.split('\n').filter((line) => line.includes('"msg":"request"'));
    expect(accessLines).toHaveLength(5); // the four /v1 requests and GET /admin/config
    expect(accessLines.join('\n')).toContain('remember [redacted]');
    // The MCP server echoed its credentials in the failed connect: the debug line tells what failed, without them.
    const mcpLines = `${stdout}\n${stderr}`.split('\n').filter((line) => line.includes('"mcp_server":"remote"'));
    expect(mcpLines.some((line) => line.includes('streamable HTTP failed'))).toBe(true);
    for (const line of mcpLines)
      for (const secret of [CONFIG_SECRETS.MCP_BEARER, CONFIG_SECRETS.MCP_HEADER]) expect(line).not.toContain(secret);
    const rows = await storedBodies();
    expect(rows).toHaveLength(4);
    expect(rows.join('\n')).toContain('[redacted]');
    for (const secret of [...configSecrets(), BARE_CALLER_KEY, MINTED_KEY]) {
      expect(stdout, secret).not.toContain(secret);
      expect(stderr, secret).not.toContain(secret);
      for (const row of rows) expect(row, secret).not.toContain(secret);
    }
  });

  it('redacts every secret in GET /admin/config and keeps the rest readable', () => {
    for (const secret of configSecrets()) expect(adminConfig, secret).not.toContain(secret);
    const parsed = JSON.parse(adminConfig) as unknown;
    const at = (path: string): unknown =>
      path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], parsed);
    expect(at('providers.custom.headers')).toEqual({ 'x-custom-auth': '[redacted]' });
    expect(at('providers.custom.base_url')).toBe(`${echo.url}/v1`);
    expect(at('mcp.servers.remote.headers')).toEqual({ 'x-mcp-auth': '[redacted]' });
    expect(at('mcp.servers.local.env')).toEqual({ SERVICE_DSN: '[redacted]' });
    expect(at('mcp.servers.local.args')).toEqual([MCP_SERVER_BIN.memory, '--api-key', '[redacted]', '--token=[redacted]']);
    expect(at('budgets.webhook.url')).toBe('http://127.0.0.1:9/[redacted]');
    expect(at('budgets.webhook.headers')).toEqual({ 'x-hook-auth': '[redacted]' });
    expect(at('state.store.url')).toBe('postgres://postgres:redacted@127.0.0.1:5432/test');
    expect(at('state.redis.url')).toBe('redis://:redacted@127.0.0.1:6379');
    expect(at('limits.headers')).toBe('refused');
    expect(at('models.chat-model')).toMatchObject({ provider: 'mock', model: 'echo-model' });
    expect(at('server.host')).toBe('127.0.0.1');
    if (backend === 'postgres') expect(at('request_log.postgres_url')).toBe('postgres://postgres:redacted@127.0.0.1:5432/test');
  });
});

/**
 * Tokens in the path or query of an MCP server's or a REST source's URL, put there by `${VAR}` or
 * written in the file: the host stays readable in /admin/config, and no token reaches a log line,
 * an answer or /admin/config, whether the server is down, answers with an error that quotes the
 * path it was asked for, answers something that is not JSON, or does not answer in time.
 */
describe('tokens in the URLs of MCP servers and REST sources', () => {
  /** Shorter than the 16 characters that make any URL path segment a secret: these are secrets because they came from `${VAR}`. */
  const URL_SECRETS = { MCP_PATH_TOKEN: 'mcptok-3f9a1c', MCP_QUERY_TOKEN: 'mcpq-5c8e21', REST_PATH_TOKEN: 'rtok-7b2e4d' };
  /** Written in the file, as in `https://mcp.example.com/sk-abc123/mcp`. */
  const LITERAL_TOKEN = 'sk-abc123';
  const tokens = [...Object.values(URL_SECRETS), LITERAL_TOKEN];
  let quoting: Awaited<ReturnType<typeof startPathQuotingServer>>;
  let urlGateway: GatewayProcess;
  let deadPort: number;
  const answers: string[] = [];
  let adminText = '';

  /** Answers every request with an error, or non-JSON, that quotes the path it was asked for; never answers /hang/. */
  async function startPathQuotingServer(): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
    const paths: string[] = [];
    const server = createServer((req, res) => {
      const path = req.url ?? '';
      paths.push(path);
      if (path.startsWith('/hang/')) return;
      if (path.startsWith('/garbled/')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(path.split('/')[2]);
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`Cannot ${req.method} ${path}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      paths,
      close: () => {
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  beforeAll(async () => {
    quoting = await startPathQuotingServer();
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    deadPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    urlGateway = await startGateway({
      config: `
logging: { level: debug, bodies: all }
providers:
  mock: { type: mock }
models:
  chat-model: { provider: mock, model: echo-model }
admin: { key: admin-key-for-url-tokens-1 }
mcp:
  servers:
    down:
      transport: http
      url: "http://127.0.0.1:${deadPort}/${LITERAL_TOKEN}/\${MCP_PATH_TOKEN}/mcp"
      required: true
    quoting:
      transport: http
      url: "${quoting.url}/${LITERAL_TOKEN}/\${MCP_PATH_TOKEN}/mcp?team=\${MCP_QUERY_TOKEN}"
  sources:
    failing: { type: rest, url: "${quoting.url}/v1/\${REST_PATH_TOKEN}/${LITERAL_TOKEN}/items/{user}" }
    garbled: { type: rest, url: "${quoting.url}/garbled/\${REST_PATH_TOKEN}/{user}" }
    slow: { type: rest, url: "${quoting.url}/hang/\${REST_PATH_TOKEN}/{user}", timeout_ms: 300 }
  policies:
    - { models: [chat-model], opt_in_servers: [down], sources: [failing, garbled, slow] }
`,
      env: URL_SECRETS,
    });
    const ask = (content: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${urlGateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'chat-model', user: 'alice', messages: [{ role: 'user', content }] }),
      });
    // The mock echoes the prompt back to its caller, so both logged bodies carry the ${VAR} tokens too.
    const echoed = await ask(`remember ${Object.values(URL_SECRETS).join(' ')}`);
    expect(echoed.status).toBe(200);
    answers.push(JSON.stringify([...echoed.headers]));
    await echoed.arrayBuffer();
    const required = await ask('hi', { 'x-lightport-mcp': 'down' });
    expect(required.status).toBe(503);
    answers.push(JSON.stringify([...required.headers]), await required.text());
    const config = await fetch(`${urlGateway.url}/admin/config`, { headers: { authorization: 'Bearer admin-key-for-url-tokens-1' } });
    expect(config.status).toBe(200);
    adminText = await config.text();
  }, 30_000);

  afterAll(async () => {
    await urlGateway?.stop();
    await quoting?.close();
  });

  it('keeps them out of every log line and answer, though the servers quoted them', async () => {
    // The tokens did reach the servers, in the path and query.
    const reached = quoting.paths.join('\n');
    for (const token of tokens) expect(reached).toContain(token);
    expect(await urlGateway.stop()).toBe(0);
    const { stdout, stderr } = urlGateway.output();
    for (const token of tokens) {
      expect(stdout, token).not.toContain(token);
      expect(stderr, token).not.toContain(token);
      for (const answer of answers) expect(answer, token).not.toContain(token);
    }
    // What failed is still told, by name.
    const lines = stdout.split('\n');
    expect(lines.some((line) => line.includes('"mcp_server":"quoting"') && line.includes('mcp server unavailable'))).toBe(true);
    expect(lines.some((line) => line.includes('"mcp_server":"down"') && line.includes('mcp server unavailable'))).toBe(true);
    for (const source of ['failing', 'garbled', 'slow'])
      expect(lines.some((line) => line.includes(`"context_source":"${source}"`) && line.includes('context source failed'))).toBe(true);
    expect(lines.find((line) => line.includes('"msg":"request"') && line.includes('remember'))).toContain('remember [redacted]');
    expect(answers.join('\n')).toContain('mcp_server_unavailable');
  });

  it('shows each such URL in GET /admin/config with its host and without its path', () => {
    for (const token of tokens) expect(adminText, token).not.toContain(token);
    const { mcp } = JSON.parse(adminText) as {
      mcp: { servers: Record<string, { url: string }>; sources: Record<string, { url: string }> };
    };
    expect(mcp.servers['down']?.url).toBe(`http://127.0.0.1:${deadPort}/[redacted]`);
    expect(mcp.servers['quoting']?.url).toBe(`${quoting.url}/[redacted]`);
    for (const source of ['failing', 'garbled', 'slow']) expect(mcp.sources[source]?.url).toBe(`${quoting.url}/[redacted]`);
  });
});
