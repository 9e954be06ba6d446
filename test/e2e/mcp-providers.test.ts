import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_KEY, anthropicDialect } from '../fakes/providers/anthropic.ts';
import { GOOGLE_KEY, googleDialect } from '../fakes/providers/google.ts';
import { startFakeProvider, type FakeProvider } from '../fakes/providers/harness.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { MCP_SERVER_BIN, stdioServer } from '../support/mcp-servers.ts';

let anthropic: FakeProvider;
let google: FakeProvider;
let gateway: GatewayProcess;
let client: OpenAI;

beforeAll(async () => {
  [anthropic, google] = await Promise.all([startFakeProvider(anthropicDialect, '/v1'), startFakeProvider(googleDialect, '/v1beta')]);
  gateway = await startGateway({
    config: `
providers:
  claude: { type: anthropic, base_url: "${anthropic.url}", api_key: ${ANTHROPIC_KEY} }
  gemini: { type: google, base_url: "${google.url}", api_key: ${GOOGLE_KEY} }
mcp:
  servers:
    everything: ${stdioServer(MCP_SERVER_BIN.everything, ['stdio'], "protocol: '2025-11-25', tools: { allow: [echo, get-sum] }")}
  policies:
    - { models: ['*'], servers: [everything] }
`,
    readyTimeoutMs: 45_000,
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await anthropic?.close();
  await google?.close();
});

const user = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];

describe.each([
  ['anthropic', 'claude/m-parallel'],
  ['google', 'gemini/m-parallel'],
])('the MCP tool loop through a translating provider (%s)', (_name, model) => {
  it('runs two parallel MCP calls and answers with their results', async () => {
    const answer = await client.chat.completions.create({ model, messages: user('use both tools'), max_tokens: 200 });
    const text = answer.choices[0]?.message.content ?? '';
    expect(text).toContain('<tool_result server="everything" tool="echo">');
    expect(text).toContain('<tool_result server="everything" tool="get-sum">');
    expect(answer.choices[0]?.finish_reason).toBe('stop');
  });

  it('streams only the final turn', async () => {
    const stream = await client.chat.completions.create({ model, messages: user('use both tools'), max_tokens: 200, stream: true });
    let text = '';
    const finishes: string[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
      expect(chunk.choices[0]?.delta.tool_calls).toBeUndefined();
    }
    expect(text).toContain('tool="get-sum"');
    expect(finishes).toEqual(['stop']);
  });
});

it('sends Gemini tool schemas in the subset it accepts', async () => {
  await client.chat.completions.create({ model: 'gemini/m-text', messages: user('hi'), tool_choice: 'none' });
  const body = google.requests.at(-1)?.body as {
    tools: { functionDeclarations: { name: string; parametersJsonSchema: Record<string, unknown> }[] }[];
  };
  const declarations = body.tools.flatMap((tool) => tool.functionDeclarations);
  expect(declarations.map((declaration) => declaration.name)).toEqual(['everything__echo', 'everything__get-sum']);
  for (const declaration of declarations) expect(JSON.stringify(declaration.parametersJsonSchema)).not.toContain('$schema');
});

describe('the MCP tool loop over Anthropic extended thinking', () => {
  it.each([false, true])('sends the signed thinking blocks back with the tool results (stream: %s)', async (stream) => {
    const request = { model: 'claude/m-parallel', messages: user('use both tools'), max_tokens: 4000, reasoning_effort: 'low' as const };
    let text = '';
    if (stream) {
      for await (const chunk of await client.chat.completions.create({ ...request, stream: true }))
        text += chunk.choices[0]?.delta.content ?? '';
    } else {
      text = (await client.chat.completions.create(request)).choices[0]?.message.content ?? '';
    }
    expect(text).toContain('tool="get-sum"');
    const second = anthropic.requests.at(-1)?.body as { messages: { role: string; content: { type: string }[] }[] };
    expect(second.messages[1]?.content.map((block) => block.type)).toEqual(['thinking', 'tool_use', 'tool_use']);
  });
});
