// MCP stage benchmark: added latency of context injection (warm and cold cache) and one
// tool-loop iteration's gateway overhead, against the same requests without MCP.
// Usage: node bench/mcp.ts   (BENCH_SCALE=0.2 for a quick run)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Pool } from 'undici';
import { spawnServer, type RunningServer } from './spawn-server.ts';
import { percentile } from './stats.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const everything = path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const scale = Number(process.env['BENCH_SCALE'] ?? '1');
const rounds = Math.max(50, Math.round(2000 * scale));
const warmup = Math.max(50, Math.round(500 * scale));
const RESOURCE = 'demo://resource/static/document/architecture.md';

function gatewayConfig(upstream: string, directory: string): string {
  const handbook = path.join(directory, 'handbook.md');
  writeFileSync(handbook, '# Support handbook\nAnswer briefly and politely. Quote order numbers exactly.\n');
  const server = (extra: string) =>
    `{ transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(everything)}, stdio], protocol: '2025-11-25', ${extra} }`;
  return `
logging: { level: warn }
providers:
  openai: { type: openai, api_key: sk-bench, base_url: "${upstream}/v1" }
  mock: { type: mock, response: { text: "Done." }, tool_calls: [{ name: loop__echo, arguments: { message: bench } }] }
  plainmock: { type: mock, response: { text: "Done." } }
models:
  plain: { provider: openai, model: gpt-4o-mini }
  warm: { provider: openai, model: gpt-4o-mini }
  cold: { provider: openai, model: gpt-4o-mini }
  loop: { provider: mock, model: m }
  noloop: { provider: plainmock, model: m }
mcp:
  servers:
    warm: ${server('tools: { allow: [echo, get-sum], auto_run: false }')}
    cold: ${server('cache_ttl_ms: 0, tools: { allow: [echo], auto_run: false }')}
    loop: ${server('tools: { allow: [echo] }')}
  sources:
    handbook: { type: file, path: ${JSON.stringify(handbook)} }
    doc: { type: mcp_resource, server: warm, uri: "${RESOURCE}", max_tokens: 200 }
    colddoc: { type: mcp_resource, server: cold, uri: "${RESOURCE}", max_tokens: 200, ttl_ms: 0 }
  policies:
    - { models: [warm], servers: [warm], sources: [handbook, doc] }
    - { models: [cold], servers: [cold], sources: [colddoc] }
    - { models: [loop], servers: [loop] }
`;
}

async function timeRequest(pool: Pool, model: string): Promise<number> {
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'Where is my order A-1?' }] });
  const started = performance.now();
  const response = await pool.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${model}: HTTP ${response.statusCode} ${text.slice(0, 300)}`);
  return performance.now() - started;
}

/** Round-robin over the models, one request at a time, so each sees the same machine state. */
async function latencies(pool: Pool, models: readonly string[], count: number): Promise<Record<string, number>> {
  const samples = new Map(models.map((model) => [model, new Float64Array(count)]));
  for (let index = 0; index < count; index++) {
    for (const model of models) (samples.get(model) as Float64Array)[index] = await timeRequest(pool, model);
  }
  return Object.fromEntries(models.map((model) => [model, percentile(samples.get(model) as Float64Array, 50)]));
}

/** The server's own response time: a direct client doing what a cold request does (list tools and read the resource, in parallel). */
async function serverTimes(count: number): Promise<{ cold: number; call: number }> {
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [everything, 'stdio'], stderr: 'ignore' }));
  const cold = new Float64Array(count);
  const call = new Float64Array(count);
  for (let index = -count; index < count; index++) {
    let started = performance.now();
    await Promise.all([
      client.listTools(undefined, { cacheMode: 'bypass' }),
      client.readResource({ uri: RESOURCE }, { cacheMode: 'bypass' }),
    ]);
    if (index >= 0) cold[index] = performance.now() - started;
    started = performance.now();
    await client.callTool({ name: 'echo', arguments: { message: 'bench' } });
    if (index >= 0) call[index] = performance.now() - started;
  }
  await client.close();
  return { cold: percentile(cold, 50), call: percentile(call, 50) };
}

export async function runMcpBench(): Promise<Record<string, number>> {
  const directory = mkdtempSync(path.join(tmpdir(), 'lightport-bench-mcp-'));
  const servers: RunningServer[] = [];
  try {
    const upstream = await spawnServer('fake upstream', ['bench/fake-upstream.ts'], { cwd: repoRoot });
    servers.push(upstream);
    const configFile = path.join(directory, 'lightport.yaml');
    writeFileSync(configFile, gatewayConfig(upstream.origin, directory));
    const gateway = await spawnServer('gateway', ['bin/lightport.js', 'start', '--config', configFile, '--port', '0'], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'] ?? '' },
    });
    servers.push(gateway);
    const pool = new Pool(gateway.origin, { connections: 1 });
    await latencies(pool, ['plain', 'warm', 'cold', 'loop', 'noloop'], warmup);
    const p50 = await latencies(pool, ['plain', 'warm', 'cold', 'loop', 'noloop'], rounds);
    await pool.close();
    const server = await serverTimes(Math.max(50, Math.round(rounds / 4)));
    const ms = (value: number): number => Math.round(value * 1000) / 1000;
    return {
      mcp_plain_request_ms_p50: ms(p50['plain'] ?? Number.NaN),
      mcp_warm_injection_added_ms_p50: ms((p50['warm'] ?? Number.NaN) - (p50['plain'] ?? Number.NaN)),
      mcp_cold_injection_added_ms_p50: ms((p50['cold'] ?? Number.NaN) - (p50['plain'] ?? Number.NaN)),
      mcp_cold_server_own_ms_p50: ms(server.cold),
      mcp_cold_gateway_overhead_ms_p50: ms((p50['cold'] ?? Number.NaN) - (p50['plain'] ?? Number.NaN) - server.cold),
      mcp_tool_call_server_ms_p50: ms(server.call),
      mcp_tool_loop_iteration_added_ms_p50: ms((p50['loop'] ?? Number.NaN) - (p50['noloop'] ?? Number.NaN)),
      mcp_tool_loop_iteration_overhead_ms_p50: ms((p50['loop'] ?? Number.NaN) - (p50['noloop'] ?? Number.NaN) - server.call),
    };
  } finally {
    for (const server of servers.toReversed()) await server.stop();
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const figures = await runMcpBench();
  for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(44)} ${value}`);
}
