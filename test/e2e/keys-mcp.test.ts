import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { McpServer, startInProcessServer, type InProcessMcpServer } from '../support/mcp-servers.ts';

const NARROW = 'lp-test-mcp-narrow-key-0001';
const WIDE = 'lp-test-mcp-wide-key-000002';
const NO_MCP = 'lp-test-mcp-none-key-000003';

let upstream: OpenAIUpstream;
let kit: InProcessMcpServer;
let gateway: GatewayProcess;

beforeAll(async () => {
  kit = await startInProcessServer(() => {
    const server = new McpServer({ name: 'kit', version: '1.0.0' }, { capabilities: { tools: {}, resources: {}, prompts: {} } });
    const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
    server.registerResource('notes', 'kit://notes', { mimeType: 'text/plain' }, async (uri) => ({
      contents: [{ uri: uri.href, text: 'kit resource text' }],
    }));
    server.registerPrompt('tone', { description: 'How to answer.' }, () => ({
      messages: [{ role: 'user' as const, content: { type: 'text' as const, text: 'kit prompt text' } }],
    }));
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
  sources:
    notes: { type: mcp_resource, server: kit, uri: "kit://notes", ttl_ms: 0 }
    tone: { type: mcp_prompt, server: kit, name: tone, ttl_ms: 0 }
  policies:
    - { models: ['*'], servers: [kit], sources: [notes, tone] }
auth:
  enabled: true
  keys:
    - { name: narrow, key: ${NARROW}, mcp: { servers: [], tools: { kit: [add] } } }
    - { name: wide, key: ${WIDE} }
    - { name: no-mcp, key: ${NO_MCP}, mcp: { servers: [] } }
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([upstream?.close(), kit?.close()]);
});

interface UpstreamBody {
  tools?: Array<{ function: { name: string } }>;
  messages: Array<{ role: string; content: string }>;
}

/** What the upstream received for one request (its first turn). */
async function sent(key: string, headers: Record<string, string> = {}): Promise<UpstreamBody> {
  const before = upstream.requests.length;
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hello' }] }),
  });
  expect(response.status, await response.text()).toBe(200);
  return upstream.requests[before]?.body as UpstreamBody;
}

async function offeredTools(key: string): Promise<string[]> {
  return ((await sent(key)).tools ?? []).map((tool) => tool.function.name).toSorted();
}

const contextOf = (body: UpstreamBody): string => body.messages.map((message) => message.content).join('\n');

describe('keys and MCP tools', () => {
  it('offers a key only the MCP tools it may use', async () => {
    expect(await offeredTools(WIDE)).toEqual(['kit__add', 'kit__drop_table']);
    expect(await offeredTools(NARROW)).toEqual(['kit__add']);
  });

  it("injects a server's resources and prompts only for keys that may use the server", async () => {
    const wide = contextOf(await sent(WIDE));
    expect(wide).toContain('<context source="notes" type="mcp_resource">\nkit resource text');
    expect(wide).toContain('<context source="tone" type="mcp_prompt">');
    expect(wide).toContain('kit prompt text');
    expect(contextOf(await sent(NARROW))).toContain('kit resource text');
    const barred = await sent(NO_MCP);
    expect(barred.tools).toBeUndefined();
    expect(contextOf(barred)).not.toContain('kit resource text');
    expect(contextOf(barred)).not.toContain('kit prompt text');
    expect(barred.messages).toEqual([{ role: 'user', content: 'hello' }]);
  });

  it('accepts x-lightport-mcp: none from keys with an MCP allowlist, and turns tools off', async () => {
    expect((await sent(NARROW, { 'x-lightport-mcp': 'none' })).tools).toBeUndefined();
    expect((await sent(NO_MCP, { 'x-lightport-mcp': 'none' })).tools).toBeUndefined();
    const refused = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${NO_MCP}`, 'x-lightport-mcp': 'kit' },
      body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(refused.status).toBe(403);
  });
});
