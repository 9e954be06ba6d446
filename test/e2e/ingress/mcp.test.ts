import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_KEY, anthropicDialect } from '../../fakes/providers/anthropic.ts';
import { startFakeProvider, type FakeProvider } from '../../fakes/providers/harness.ts';
import { startGateway, type GatewayProcess } from '../../support/gateway-process.ts';
import { MCP_SERVER_BIN, stdioServer } from '../../support/mcp-servers.ts';

let anthropic: FakeProvider;
let gateway: GatewayProcess;

beforeAll(async () => {
  anthropic = await startFakeProvider(anthropicDialect, '/v1');
  gateway = await startGateway({
    config: `
providers:
  claude: { type: anthropic, base_url: "${anthropic.url}", api_key: ${ANTHROPIC_KEY} }
mcp:
  servers:
    everything: ${stdioServer(MCP_SERVER_BIN.everything, ['stdio'], "protocol: '2025-11-25', tools: { allow: [echo, get-sum] }")}
  policies:
    - { models: ['*'], servers: [everything] }
`,
    readyTimeoutMs: 45_000,
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await anthropic?.close();
});

/** With MCP tools for the model, even an Anthropic model is answered over chat, where the tool loop runs. */
describe('MCP enrichment for the other APIs', () => {
  it('runs the tool loop for a Messages request and streams only the final answer', async () => {
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
    const message = await client.messages
      .stream({ model: 'claude/m-parallel', max_tokens: 200, messages: [{ role: 'user', content: 'use both tools' }] })
      .finalMessage();
    const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    expect(text).toContain('<tool_result server="everything" tool="echo">');
    expect(text).toContain('<tool_result server="everything" tool="get-sum">');
    expect(message.stop_reason).toBe('end_turn');
    expect(message.content.every((block) => block.type === 'text')).toBe(true);
  });

  it('runs the tool loop for a Responses request', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const response = await client.responses.create({ model: 'claude/m-parallel', input: 'use both tools', max_output_tokens: 200 });
    expect(response.output_text).toContain('tool="get-sum"');
    expect(response.output.map((item) => item.type)).toEqual(['message']);
  });
});
