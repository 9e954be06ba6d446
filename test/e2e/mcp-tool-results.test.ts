import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

// A hand-written stdio MCP server (2025-11-25): `image` answers a result the SDK rejects
// (invalid base64), `slow` answers after a while with its pid.
const SERVER = `
import { createInterface } from 'node:readline';
import { appendFileSync } from 'node:fs';
appendFileSync(process.env.STARTS, process.pid + '\\n');
const send = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
const schema = { type: 'object', properties: {} };
createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) return;
  const ok = (result) => send({ jsonrpc: '2.0', id: message.id, result });
  if (message.method === 'initialize')
    return ok({ protocolVersion: message.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'raw', version: '1' } });
  if (message.method === 'ping') return ok({});
  if (message.method === 'tools/list')
    return ok({ tools: [{ name: 'image', inputSchema: schema }, { name: 'slow', inputSchema: schema }] });
  if (message.method === 'tools/call' && message.params.name === 'image')
    return ok({ content: [{ type: 'image', data: 'not base64!', mimeType: 'image/png' }] });
  if (message.method === 'tools/call' && message.params.name === 'slow')
    return void setTimeout(() => ok({ content: [{ type: 'text', text: 'slow done by ' + process.pid }] }), 500);
  send({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } });
});
process.stdin.on('end', () => process.exit(0));
`;

const directory = mkdtempSync(join(tmpdir(), 'lightport-mcp-results-'));
const starts = join(directory, 'starts.log');
let gateway: GatewayProcess;
let client: OpenAI;

beforeAll(async () => {
  writeFileSync(join(directory, 'server.mjs'), SERVER);
  writeFileSync(starts, '');
  gateway = await startGateway({
    config: `
providers:
  both:
    type: mock
    tool_calls:
      - { name: raw__slow, arguments: {} }
      - { name: raw__image, arguments: {} }
  slow:
    type: mock
    tool_calls: [{ name: raw__slow, arguments: {} }]
mcp:
  servers:
    raw: { transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(join(directory, 'server.mjs'))}], env: { STARTS: ${JSON.stringify(starts)} } }
  policies:
    - { models: ['*'], servers: [raw] }
`,
    readyTimeoutMs: 45_000,
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

const ask = async (model: string): Promise<string> => {
  const answer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'go' }] });
  return answer.choices[0]?.message.content ?? '';
};

describe('MCP tool results', () => {
  it('turns a result the SDK rejects into that call’s error, keeping the connection and the calls in flight', async () => {
    // Connecting may start the server more than once (era negotiation); the last one serves.
    const started = readFileSync(starts, 'utf8').trim().split('\n');
    const pid = started.at(-1);
    const answer = await ask('both/m');
    expect(answer).toContain('<tool_result server="raw" tool="image" error="failed">\nThe tool call failed: Invalid result for tools/call');
    expect(answer).toContain(`<tool_result server="raw" tool="slow">\nslow done by ${pid}\n</tool_result>`);
    expect(await ask('slow/m')).toContain(`slow done by ${pid}`);
    expect(readFileSync(starts, 'utf8').trim().split('\n')).toEqual(started);
  });
});
