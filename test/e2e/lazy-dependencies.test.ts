import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { REPO_ROOT, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { MCP_SERVER_BIN, stdioServer } from '../support/mcp-servers.ts';

const HOOK = join(REPO_ROOT, 'test', 'support', 'loaded-packages.ts');
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Heavy dependencies that only some configs need. */
const OPTIONAL = ['@azure/identity', '@modelcontextprotocol/client', 'ioredis', 'pg'];

let gateway: GatewayProcess | undefined;
afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

async function startRecording(config: { file: string } | { yaml: string }): Promise<{ loaded: () => string[] }> {
  const record = join(mkdtempSync(join(tmpdir(), 'lightport-packages-')), 'loaded.txt');
  writeFileSync(record, '');
  gateway = await startGateway({
    ...('file' in config ? { rawArgs: ['start', '--port', '0', '--config', config.file] } : { config: config.yaml }),
    nodeArgs: ['--import', HOOK],
    env: { LOADED_PACKAGES_FILE: record, REDIS_URL },
  });
  return { loaded: () => readFileSync(record, 'utf8').split('\n').filter(Boolean) };
}

async function chat(url: string, model: string): Promise<number> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer lp-lazy-test-key-0123456789' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

it('on the example config, loads none of the optional heavy dependencies, before or after serving', async () => {
  const { loaded } = await startRecording({ file: join(REPO_ROOT, 'examples', 'lightport.yaml') });
  expect(await chat(gateway!.url, 'mock-echo')).toBe(200);
  const packages = loaded();
  expect(packages).toContain('undici');
  for (const name of OPTIONAL) expect(packages).not.toContain(name);
});

it('loads each one when the config uses it: Entra ID, an MCP server, Redis limits, a PostgreSQL request log', async () => {
  const schema = `lazy_${process.pid}`;
  const { loaded } = await startRecording({
    yaml: `
providers:
  local: { type: mock }
  az: { type: azure-openai, endpoint: "http://127.0.0.1:9", entra: {} }
models:
  demo: { provider: local, model: d1 }
mcp:
  servers:
    everything: ${stdioServer(MCP_SERVER_BIN.everything, ['stdio'], "protocol: '2025-11-25'")}
auth:
  enabled: true
  keys:
    - { name: lazy, key: lp-lazy-test-key-0123456789, limits: { requests_per_minute: 1000 } }
limits:
  backend: redis
state:
  redis: { url: "${REDIS_URL}", prefix: lightport-lazy-${process.pid} }
request_log: { backend: postgres, postgres_url: "${DATABASE_URL}", postgres_schema: ${schema} }
`,
  });
  try {
    expect(await chat(gateway!.url, 'demo')).toBe(200);
    const packages = loaded();
    for (const name of OPTIONAL) expect(packages).toContain(name);
  } finally {
    await gateway?.stop();
    gateway = undefined;
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
});
