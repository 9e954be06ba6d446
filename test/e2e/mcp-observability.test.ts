import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { MCP_SERVER_BIN, stdioServer } from '../support/mcp-servers.ts';
import { attribute, CollectorStub } from '../support/otlp-collector.ts';
import { scrape } from '../support/prometheus.ts';

const collector = new CollectorStub();
let gateway: GatewayProcess;

beforeAll(async () => {
  const origin = await collector.start();
  gateway = await startGateway({
    config: `
logging: { level: warn }
providers:
  loop:
    type: mock
    tool_calls:
      - { name: everything__echo, arguments: { message: "traced" } }
      - { name: everything__get-sum, arguments: { a: 2, b: 3 } }
mcp:
  servers:
    everything: ${stdioServer(MCP_SERVER_BIN.everything, ['stdio'], 'tools: { allow: [echo, get-sum] }')}
  policies:
    - { models: ['*'], servers: [everything] }
tracing: { endpoint: "${origin}/v1/traces", export_delay_ms: 100 }
`,
    readyTimeoutMs: 45_000,
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await collector.close();
});

describe('MCP tool calls in metrics and traces', () => {
  it('counts each tool call by server, tool and outcome, and traces it as an execute_tool span of its request', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'loop/m', messages: [{ role: 'user', content: 'use the tools' }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-lightport-mcp-tool-calls')).toBe('2');
    const requestId = response.headers.get('x-request-id');
    await response.text();

    const metrics = await scrape(`${gateway.url}/metrics`);
    expect(metrics.value('lightport_mcp_tool_calls_total', { server: 'everything', tool: 'echo', outcome: 'ok' })).toBe(1);
    expect(metrics.value('lightport_mcp_tool_calls_total', { server: 'everything', tool: 'get-sum', outcome: 'ok' })).toBe(1);
    expect(metrics.value('lightport_mcp_tool_call_duration_seconds', { server: 'everything' })).toBe(2);

    await expect.poll(() => collector.spans().length, { timeout: 5000, interval: 50 }).toBeGreaterThanOrEqual(4);
    const spans = collector.spans().map(({ span }) => span);
    const server = spans.find((span) => attribute(span, 'lightport.request_id') === requestId);
    expect(server).toBeDefined();
    const children = spans.filter((span) => span.parentSpanId === server?.spanId);
    const tools = children.filter((span) => span.name.startsWith('execute_tool '));
    expect(tools.map((span) => span.name).toSorted()).toEqual(['execute_tool echo', 'execute_tool get-sum']);
    for (const span of tools) {
      expect(span.traceId).toBe(server?.traceId);
      expect(attribute(span, 'gen_ai.operation.name')).toBe('execute_tool');
      expect(attribute(span, 'lightport.mcp.server')).toBe('everything');
      expect(BigInt(span.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(server?.startTimeUnixNano ?? '0'));
    }
    expect(children.some((span) => span.name.startsWith('chat '))).toBe(true);
  });
});
