import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { MCP_SERVER_BIN, stdioServer } from '../support/mcp-servers.ts';

let gateway: GatewayProcess;
let client: OpenAI;
const GATEWAY_SECRET = 'sk-gateway-only-5b1e0c';

beforeAll(async () => {
  gateway = await startGateway({
    config: `
providers:
  loop:
    type: mock
    tool_calls:
      - { name: everything__echo, arguments: { message: "hello from the loop" } }
      - { name: everything__get-sum, arguments: { a: 2, b: 3 } }
  invalid:
    type: mock
    tool_calls:
      - { name: everything__get-sum, arguments: { a: "two" } }
      - { name: everything__get-sum, arguments: { a: 2, b: 40 }, round: 1 }
  endless:
    type: mock
    tool_calls:
      - { name: everything__echo, arguments: { message: r0 } }
      - { name: everything__echo, arguments: { message: r1 }, round: 1 }
      - { name: everything__echo, arguments: { message: r2 }, round: 2 }
      - { name: everything__echo, arguments: { message: r3 }, round: 3 }
  mixed:
    type: mock
    tool_calls:
      - { name: everything__echo, arguments: { message: first } }
      - { name: get_weather, arguments: { city: Paris }, round: 1 }
  env:
    type: mock
    tool_calls: [{ name: everything__get-env, arguments: {} }]
  same-turn:
    type: mock
    tool_calls:
      - { name: everything__echo, arguments: { message: dropped } }
      - { name: get_weather, arguments: { city: Rome } }
  hang:
    type: mock
    errors: [{ rate: 1, kind: hang }]
models:
  after-timeout:
    strategy: fallback
    targets:
      - { provider: hang, model: m, timeouts: { total_ms: 300 } }
      - loop/m
mcp:
  servers:
    everything: ${stdioServer(MCP_SERVER_BIN.everything, ['stdio'], 'env: { MCP_VISIBLE: granted }, tools: { allow: [echo, get-sum, get-env] }')}
  tool_loop: { max_iterations: 2 }
  policies:
    - { models: ['*'], servers: [everything] }
`,
    env: { OPENAI_API_KEY: GATEWAY_SECRET },
    readyTimeoutMs: 45_000,
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

const user = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];
const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('MCP tool loop', () => {
  it('runs the MCP tools the model calls, in parallel and in order, and answers with usage summed over the turns', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'loop/m', messages: user('use the tools') }).withResponse();
    const answer = data.choices[0]?.message.content ?? '';
    expect(answer).toMatch(/^Tool results: <tool_result server="everything" tool="echo">\nEcho: hello from the loop\n<\/tool_result>; /);
    expect(answer).toContain('<tool_result server="everything" tool="get-sum">\nThe sum of 2 and 3 is 5.');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.choices[0]?.message.tool_calls).toBeUndefined();
    expect(response.headers.get('x-lightport-mcp-iterations')).toBe('1');
    expect(response.headers.get('x-lightport-mcp-tool-calls')).toBe('2');
    // Two turns: the usage is the sum of both, so more than a single answer's prompt.
    expect(data.usage?.total_tokens).toBe((data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0));
    expect(data.usage?.prompt_tokens).toBeGreaterThan(20);
  });

  it('streams the final turn only: no intermediate finish_reason, progress as SSE comments', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'loop/m', stream: true, stream_options: { include_usage: true }, messages: user('go') }),
    });
    const text = await response.text();
    expect(text).toMatch(/^: lightport-mcp tool_call \{"id":"call_\w+","server":"everything","tool":"echo"\}\n\n/m);
    expect(text).toMatch(/^: lightport-mcp tool_result \{"id":"call_\w+","outcome":"ok","duration_ms":\d+\}\n\n/m);
    const events = text
      .split('\n\n')
      .filter((event) => event.startsWith('data: ') && event !== 'data: [DONE]')
      .map((event) => JSON.parse(event.slice(6)) as OpenAI.ChatCompletionChunk);
    const finishes = events.flatMap((event) => event.choices.map((choice) => choice.finish_reason)).filter((reason) => reason !== null);
    expect(finishes).toEqual(['stop']);
    expect(events.some((event) => event.choices[0]?.delta.tool_calls !== undefined)).toBe(false);
    const usage = events.at(-1)?.usage;
    expect(usage?.total_tokens).toBeGreaterThan(0);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('works with the openai SDK stream helpers, which ignore the progress comments', async () => {
    const stream = client.chat.completions.stream({ model: 'loop/m', messages: user('go'), stream_options: { include_usage: true } });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.content).toContain('Echo: hello from the loop');
    expect(final.choices[0]?.finish_reason).toBe('stop');
    const iterated = await client.chat.completions.create({ model: 'loop/m', messages: user('go'), stream: true });
    let content = '';
    for await (const chunk of iterated) content += chunk.choices[0]?.delta.content ?? '';
    expect(content).toContain('The sum of 2 and 3 is 5.');
  });

  it('sends invalid arguments back to the model as a tool error, and runs the corrected call', async () => {
    const answer = await client.chat.completions.create({ model: 'invalid/m', messages: user('add') });
    expect(answer.choices[0]?.message.content).toContain('The sum of 2 and 40 is 42.');
    await expect.poll(() => gateway.output().stdout).toMatch(/"mcp_server":"everything","tool":"get-sum","outcome":"invalid_arguments"/);
    const lines = gateway
      .output()
      .stdout.split('\n')
      .filter((line) => line.includes('"tool":"get-sum"'));
    expect(lines.some((line) => line.includes('"outcome":"ok"'))).toBe(true);
    // Arguments and results are logged only at the body level (debug), not at info.
    expect(lines.some((line) => line.includes('"arguments"'))).toBe(false);
  });

  it('stops at max_iterations and makes the model answer', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'endless/m', messages: user('loop') }).withResponse();
    expect(response.headers.get('x-lightport-mcp-iterations')).toBe('2');
    expect(data.choices[0]?.message.content).toContain('Echo: r1');
    expect(data.choices[0]?.message.content).not.toContain('Echo: r2');
    expect(data.choices[0]?.finish_reason).toBe('stop');
  });

  it("returns calls to the client's own tools untouched, after running MCP ones", async () => {
    const answer = await client.chat.completions.create({ model: 'mixed/m', messages: user('weather'), tools: [weatherTool] });
    const calls = answer.choices[0]?.message.tool_calls ?? [];
    expect(answer.choices[0]?.finish_reason).toBe('tool_calls');
    expect(calls.map((call) => (call.type === 'function' ? [call.function.name, call.function.arguments] : []))).toEqual([
      ['get_weather', '{"city":"Paris"}'],
    ]);
  });

  it('returns calls to MCP tools that need approval to the client, untouched', async () => {
    const answer = await client.chat.completions.create({
      model: 'loop/m',
      messages: user('go'),
      tools: [{ type: 'mcp', server_label: 'everything', require_approval: 'always' } as unknown as OpenAI.ChatCompletionTool],
    });
    expect(answer.choices[0]?.finish_reason).toBe('tool_calls');
    const calls = answer.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((call) => (call.type === 'function' ? call.function.name : ''))).toEqual(['everything__echo', 'everything__get-sum']);
  });

  it('runs MCP tools after a fallback from an attempt that timed out, under the new attempt', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'after-timeout', messages: user('go') }).withResponse();
    expect(response.headers.get('x-lightport-fallback-reason')).toBe('timeout');
    const answer = data.choices[0]?.message.content ?? '';
    expect(answer).toContain('Echo: hello from the loop');
    expect(answer).toContain('The sum of 2 and 3 is 5.');
    expect(answer).not.toContain('error=');
  });

  it("starts stdio servers with a minimal environment: the configured env, never the gateway's own", async () => {
    const answer = await client.chat.completions.create({ model: 'env/m', messages: user('env?') });
    const text = answer.choices[0]?.message.content ?? '';
    expect(text).toContain('"MCP_VISIBLE": "granted"');
    expect(text).toContain('"PATH"');
    expect(text).not.toContain(GATEWAY_SECRET);
  });

  it('in a turn mixing client and MCP calls, returns the client calls and drops the MCP ones', async () => {
    const stream = await client.chat.completions.create({ model: 'same-turn/m', messages: user('w'), tools: [weatherTool], stream: true });
    const names: string[] = [];
    const finishes: string[] = [];
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) if (call.function?.name) names.push(call.function.name);
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
    }
    expect(names).toEqual(['get_weather']);
    expect(finishes).toEqual(['tool_calls']);
  });
});
