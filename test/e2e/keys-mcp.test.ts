import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { McpServer, startInProcessServer, type InProcessMcpServer } from '../support/mcp-servers.ts';

const NARROW = 'lp-test-mcp-narrow-key-0001';
const WIDE = 'lp-test-mcp-wide-key-000002';

let upstream: OpenAIUpstream;
let kit: InProcessMcpServer;
let gateway: GatewayProcess;

beforeAll(async () => {
  kit = await startInProcessServer(() => {
    const server = new McpServer({ name: 'kit', version: '1.0.0' }, { capabilities: { tools: {} } });
    const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
    server.registerTool('add', { description: 'Adds.', inputSchema: z.object({ a: z.number(), b: z.number() }) }, async ({ a, b }) =>
      text(String(a + b)),
    );
    server.registerTool('drop_table', { description: 'Drops a table.', inputSchema: z.object({ name: z.string() }) }, async () =>
      text('dropped'),
    );
    return server;
  });
  upstream = await startOpenAIUpstream();
  gateway = await startGateway({
    config: `
providers:
  openai: { type: openai, api_key: sk-test-key, base_url: "${upstream.url}" }
models:
  fast: { provider: openai, model: gpt-4o-mini }
mcp:
  servers:
    kit: { transport: http, url: "${kit.url}" }
  policies:
    - { models: ['*'], servers: [kit] }
auth:
  enabled: true
  keys:
    - { name: narrow, key: ${NARROW}, mcp: { servers: [], tools: { kit: [add] } } }
    - { name: wide, key: ${WIDE} }
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([upstream?.close(), kit?.close()]);
});

async function offeredTools(key: string): Promise<string[]> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hello' }] }),
  });
  expect(response.status).toBe(200);
  await response.text();
  const body = upstream.requests.at(-1)?.body as { tools?: Array<{ function: { name: string } }> };
  return (body.tools ?? []).map((tool) => tool.function.name).toSorted();
}

describe('keys and MCP tools', () => {
  it('offers a key only the MCP tools it may use', async () => {
    expect(await offeredTools(WIDE)).toEqual(['kit__add', 'kit__drop_table']);
    expect(await offeredTools(NARROW)).toEqual(['kit__add']);
  });
});
