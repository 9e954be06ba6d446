import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.ts';
import { configSchema } from '../config/schema.ts';
import { configSecrets } from './observers.ts';
import { maskUrlPath, Redactor, redactUrlSecrets } from './redaction.ts';

const config = configSchema.parse({
  providers: {
    custom: { type: 'openai-compatible', base_url: 'https://llm.example.com/v1', headers: { 'x-custom-auth': 'hdr-value-1' } },
    aws: {
      type: 'bedrock',
      region: 'us-east-1',
      access_key_id: 'AKIAEXAMPLE',
      secret_access_key: 'aws-secret-1',
      session_token: 'aws-session-1',
    },
    azure: { type: 'azure-openai', endpoint: 'https://r.openai.azure.com', entra_token: 'entra-token-1' },
  },
  auth: { keys: [{ name: 'ci', key: 'gateway-key-plaintext-1' }] },
  state: {
    store: { type: 'postgres', url: 'postgres://app:store%40pw-1@db:5432/lp' },
    redis: { url: 'rediss://:state-redis-pw-1@cache:6380' },
  },
  router: { redis: { url: 'redis://default:router-redis-pw-1@cache:6379' } },
  request_log: { postgres_url: 'host=db user=app password=log-db-pw-1 dbname=lp' },
  budgets: { webhook: { url: 'https://hooks.example.com/services/T000/B000/slackpathtoken123456?sig=query-sig-1', secret: 'hmac-1' } },
  mcp: {
    servers: {
      remote: { transport: 'http', url: 'https://mcp.example.com/mcp', bearer_token: 'mcp-bearer-1', headers: { 'x-mcp': 'mcp-hdr-1' } },
      local: {
        transport: 'stdio',
        command: 'node',
        args: ['server.js', '--api-key', 'mcp-arg-1', '--token=mcp-arg-2', '--port', '8080'],
        env: { SERVICE_DSN: 'mcp-env-1' },
      },
    },
  },
});

describe('configSecrets', () => {
  it('finds every secret-bearing value of a validated config', () => {
    const secrets = configSecrets(config, {});
    for (const secret of [
      'hdr-value-1',
      'aws-secret-1',
      'aws-session-1',
      'entra-token-1',
      'gateway-key-plaintext-1',
      'store@pw-1',
      'state-redis-pw-1',
      'router-redis-pw-1',
      'log-db-pw-1',
      'slackpathtoken123456',
      'query-sig-1',
      'hmac-1',
      'mcp-bearer-1',
      'mcp-hdr-1',
      'mcp-env-1',
      'mcp-arg-1',
      'mcp-arg-2',
    ])
      expect(secrets).toContain(secret);
  });

  it('leaves settings alone: model names, hosts, ports, limits.headers', () => {
    const secrets = configSecrets(config, {});
    for (const setting of [
      'refused',
      'us-east-1',
      'openai-compatible',
      'cache',
      '6379',
      'lightport',
      'services',
      'server.js',
      '8080',
      '--token=mcp-arg-2',
    ])
      expect(secrets).not.toContain(setting);
  });
});

describe('configSecrets: tokens in the URLs of MCP servers and REST sources', () => {
  const withUrls = (mcpUrl: string, restUrl: string) =>
    configSchema.parse({
      mcp: {
        servers: { remote: { transport: 'http', url: mcpUrl } },
        sources: { profile: { type: 'rest', url: restUrl } },
      },
    });

  it('takes token-long path segments, userinfo and every query value, as for the budget webhook', () => {
    const secrets = configSecrets(
      withUrls(
        'https://mcp-user:mcp-pass-1@mcp.example.com/mcp-path-token-0123456789/mcp?team=team-query-1',
        'https://api.example.com/v1/rest-path-token-0123456/items/{metadata.account_id}?key={user}&org=org-query-1',
      ),
      {},
    );
    for (const secret of ['mcp-path-token-0123456789', 'team-query-1', 'mcp-user', 'mcp-pass-1', 'rest-path-token-0123456', 'org-query-1'])
      expect(secrets).toContain(secret);
    for (const setting of ['mcp.example.com', 'api.example.com', 'items', '{user}', '{metadata.account_id}', 'https://api.example.com'])
      expect(secrets).not.toContain(setting);
  });

  it('takes a token that a template expression follows in the same segment or value', () => {
    const secrets = configSecrets(
      withUrls('https://mcp.example.com/mcp', 'https://api.example.com/v1/rest-path-token-0123456{/user}?key=query-key-1{&model}'),
      {},
    );
    expect(secrets).toContain('rest-path-token-0123456');
    expect(secrets).toContain('query-key-1');
  });

  it('takes every value a ${VAR} put into such a URL, however short, except a host', () => {
    const result = parseConfigText(
      `
providers:
  up: { type: openai-compatible, base_url: "http://\${UP_HOST}/v1/\${UP_PATH}" }
mcp:
  servers:
    remote: { transport: http, url: "https://\${MCP_HOST}:8443/\${MCP_TOKEN}/mcp" }
  sources:
    profile: { type: rest, url: "https://api.example.com/v1/\${REST_TOKEN}/items/{user}" }
`,
      'test.yaml',
      { UP_HOST: 'llm.internal', UP_PATH: 'upstream-path', MCP_HOST: 'mcp.example.com', MCP_TOKEN: 'tok-1a2b', REST_TOKEN: 'rt-9z8y' },
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const secrets = configSecrets(result.config, {}, result.interpolated);
    expect(secrets).toContain('tok-1a2b');
    expect(secrets).toContain('rt-9z8y');
    for (const setting of ['mcp.example.com', 'llm.internal', 'upstream-path']) expect(secrets).not.toContain(setting);
  });
});

describe('maskUrlPath', () => {
  it('keeps the scheme and host of a URL whose path or query may hold a token', () => {
    expect(maskUrlPath('https://mcp.example.com:8443/sk-abc123/mcp?team=t')).toBe('https://mcp.example.com:8443/[redacted]');
    expect(maskUrlPath('https://user:pw@mcp.example.com/')).toBe('https://mcp.example.com/[redacted]');
    expect(maskUrlPath('https://mcp.example.com/')).toBe('https://mcp.example.com/');
    expect(maskUrlPath('https://api.example.com/v1/{user}')).toBe('https://api.example.com/[redacted]');
    expect(maskUrlPath('https://{metadata.region}.example.com/sk-abc123')).toBe('https://{metadata.region}.example.com/[redacted]');
    expect(maskUrlPath('https://exa mple.com/sk-abc123')).toBe('[redacted]');
  });
});

describe('Redactor', () => {
  const redactor = new Redactor({ fields: [], patterns: [] }, []);

  it("redacts Lightport's own lp- keys but not hyphenated words that start with lp-", () => {
    expect(redactor.text('key lp-Q3xV9kTz1bN7mWc2Ld8RfY4hJ0sGpE6a here')).toBe('key [redacted] here');
    expect(redactor.text('see lp-solve-and-glpk-integration-notes and help-desk')).toBe(
      'see lp-solve-and-glpk-integration-notes and help-desk',
    );
  });

  it("redacts the request's own credentials given with the text, when long enough", () => {
    expect(redactor.text('echo 4f9c2a7be13d58e0a6b7c9d1e2f30a4b and abc', ['4f9c2a7be13d58e0a6b7c9d1e2f30a4b', 'abc'])).toBe(
      'echo [redacted] and abc',
    );
  });

  it('learns the secrets a reloaded config adds, and keeps redacting the earlier ones', () => {
    const learning = new Redactor({ fields: [], patterns: ['ACME-\\d+'] }, ['first-secret-value']);
    expect(learning.text('first-secret-value second-secret-value ACME-7')).toBe('[redacted] second-secret-value [redacted]');
    learning.addSecrets(['second-secret-value', 'abc']);
    expect(learning.text('first-secret-value second-secret-value ACME-7 abc')).toBe('[redacted] [redacted] [redacted] abc');
  });
});

describe('redactUrlSecrets', () => {
  it('removes passwords and secret query values, and keeps the rest of the URL', () => {
    expect(redactUrlSecrets('postgres://app:pw@db:5432/lp?sslmode=require')).toBe('postgres://app:redacted@db:5432/lp?sslmode=require');
    expect(redactUrlSecrets('https://mcp.example.com/mcp?api_key=k1&team=a')).toBe('https://mcp.example.com/mcp?api_key=redacted&team=a');
    expect(redactUrlSecrets('host=db password=secret1 dbname=lp')).toBe('host=db password=[redacted] dbname=lp');
    expect(redactUrlSecrets('gpt-4o-mini')).toBe('gpt-4o-mini');
  });
});
