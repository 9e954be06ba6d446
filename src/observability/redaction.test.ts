import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.ts';
import { configSecrets } from './observers.ts';
import { Redactor, redactUrlSecrets } from './redaction.ts';

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
      local: { transport: 'stdio', command: 'node', env: { SERVICE_DSN: 'mcp-env-1' } },
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
    ])
      expect(secrets).toContain(secret);
  });

  it('leaves settings alone: model names, hosts, ports, limits.headers', () => {
    const secrets = configSecrets(config, {});
    for (const setting of ['refused', 'us-east-1', 'openai-compatible', 'cache', '6379', 'lightport', 'services'])
      expect(secrets).not.toContain(setting);
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
});

describe('redactUrlSecrets', () => {
  it('removes passwords and secret query values, and keeps the rest of the URL', () => {
    expect(redactUrlSecrets('postgres://app:pw@db:5432/lp?sslmode=require')).toBe('postgres://app:redacted@db:5432/lp?sslmode=require');
    expect(redactUrlSecrets('https://mcp.example.com/mcp?api_key=k1&team=a')).toBe('https://mcp.example.com/mcp?api_key=redacted&team=a');
    expect(redactUrlSecrets('host=db password=secret1 dbname=lp')).toBe('host=db password=[redacted] dbname=lp');
    expect(redactUrlSecrets('gpt-4o-mini')).toBe('gpt-4o-mini');
  });
});
