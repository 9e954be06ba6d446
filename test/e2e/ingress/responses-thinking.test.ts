import OpenAI from 'openai';
import type { FunctionTool, Response, ResponseInputItem, ResponseReasoningItem } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../../fakes/openai-upstream.ts';
import { ANTHROPIC_KEY, anthropicDialect } from '../../fakes/providers/anthropic.ts';
import { AWS_KEYS, AWS_REGION, bedrockDialect, REDACTED_REASONING } from '../../fakes/providers/bedrock.ts';
import { startFakeProvider, type FakeProvider } from '../../fakes/providers/harness.ts';
import { deepseekDialect, FAKE_KEY } from '../../fakes/providers/openai-like.ts';
import { startGateway, type GatewayProcess } from '../../support/gateway-process.ts';

/**
 * A Responses caller asking Claude to reason (`reasoning.effort`) through a function-tool loop.
 * Claude, with thinking on, refuses the tool-result turn unless the assistant turn it answers starts
 * with that turn's signed thinking blocks (both fakes refuse it as the real APIs do): the gateway
 * hands them out in the reasoning items' `encrypted_content`, takes them back from the input, and
 * when a caller left them out, asks without thinking rather than be refused.
 */

const THOUGHT = 'The user wants a short answer; a tool may help.';

let anthropicFake: FakeProvider;
let bedrockFake: FakeProvider;
let deepseekFake: FakeProvider;
let openaiFake: OpenAIUpstream;
let gateway: GatewayProcess;
let client: OpenAI;

beforeAll(async () => {
  [anthropicFake, bedrockFake, openaiFake, deepseekFake] = await Promise.all([
    startFakeProvider(anthropicDialect, '/v1'),
    startFakeProvider(bedrockDialect()),
    startOpenAIUpstream(),
    startFakeProvider(deepseekDialect, '/v1'),
  ]);
  gateway = await startGateway({
    config: `logging: { level: debug }
providers:
  claude: { type: anthropic, base_url: ${anthropicFake.url}, api_key: ${ANTHROPIC_KEY} }
  openai: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-thinking }
  deepseek: { type: deepseek, base_url: ${deepseekFake.url}, api_key: ${FAKE_KEY} }
  br:
    type: bedrock
    base_url: ${bedrockFake.url}
    region: ${AWS_REGION}
    access_key_id: ${AWS_KEYS.accessKeyId}
    secret_access_key: ${AWS_KEYS.secretAccessKey}
`,
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'caller', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([anthropicFake?.close(), bedrockFake?.close(), openaiFake?.close(), deepseekFake?.close()]);
});

const weather: FunctionTool = {
  type: 'function',
  name: 'weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};
const question: ResponseInputItem = { role: 'user', content: 'What is the weather in Paris?' };

interface Upstream {
  readonly name: string;
  readonly model: string;
  readonly fake: () => FakeProvider;
  /** Whether the upstream request had thinking on, and its budget. */
  readonly thinking: (body: Record<string, unknown>) => unknown;
  /** The kinds of the blocks of the upstream request's message at `index`. */
  readonly blockKinds: (body: Record<string, unknown>, index: number) => string[];
  /** The assistant turn of a tool call made with thinking, as this upstream spells its blocks. */
  readonly toolTurn: readonly string[];
}

const messagesOf = (body: Record<string, unknown>) => body['messages'] as { content: Record<string, unknown>[] }[];
const upstreams: Upstream[] = [
  {
    name: 'Anthropic',
    model: 'claude/claude-sonnet-4-5',
    fake: () => anthropicFake,
    thinking: (body) => body['thinking'],
    blockKinds: (body, index) => (messagesOf(body)[index]?.content ?? []).map((block) => String(block['type'])),
    toolTurn: ['thinking', 'tool_use'],
  },
  {
    name: 'Bedrock',
    model: 'br/us.anthropic.claude-sonnet-4-20250514-v1:0',
    fake: () => bedrockFake,
    thinking: (body) => (body['additionalModelRequestFields'] as Record<string, unknown> | undefined)?.['thinking'],
    blockKinds: (body, index) => (messagesOf(body)[index]?.content ?? []).map((block) => Object.keys(block)[0] ?? ''),
    toolTurn: ['reasoningContent', 'toolUse'],
  },
];

const reasoningItems = (response: Response): ResponseReasoningItem[] =>
  response.output.filter((item): item is ResponseReasoningItem => item.type === 'reasoning');
const callOf = (response: Response) => {
  const call = response.output.find((item) => item.type === 'function_call');
  if (call?.type !== 'function_call') throw new Error(`no function call in ${JSON.stringify(response.output)}`);
  return call;
};

describe.each(upstreams)('a Responses caller with reasoning.effort and a function tool, on Claude through $name', (upstream) => {
  const sent = (): Record<string, unknown> => upstream.fake().requests.at(-1)?.body as Record<string, unknown>;
  const ask = (input: ResponseInputItem[], extra: Record<string, unknown> = {}) =>
    client.responses.create({ model: upstream.model, input, tools: [weather], reasoning: { effort: 'medium' }, ...extra });

  it('gets Claude’s signed thinking in a reasoning item and, sending the output back as input, completes the tool loop with thinking on', async () => {
    const first = await ask([question], { store: false });
    expect(first.output.map((item) => item.type)).toEqual(['reasoning', 'function_call']);
    const [reasoning] = reasoningItems(first);
    expect(reasoning?.content).toEqual([{ type: 'reasoning_text', text: THOUGHT }]);
    expect(reasoning?.encrypted_content).toEqual(expect.any(String));
    expect(upstream.thinking(sent())).toEqual({ type: 'enabled', budget_tokens: 8192 });

    const call = callOf(first);
    const second = await ask(
      [question, ...(first.output as ResponseInputItem[]), { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21°C' }],
      { store: false },
    );
    expect(second.status).toBe('completed');
    expect(second.output_text).toBe('Tool results: sunny, 21°C');
    expect(upstream.thinking(sent())).toEqual({ type: 'enabled', budget_tokens: 8192 });
    expect(upstream.blockKinds(sent(), 1)).toEqual(upstream.toolTurn);
  });

  it('streams the reasoning item with its encrypted_content, and the next turn by previous_response_id keeps thinking on', async () => {
    const stream = client.responses.stream({
      model: upstream.model,
      input: [question],
      tools: [weather],
      reasoning: { effort: 'medium' },
    });
    const done: ResponseReasoningItem[] = [];
    stream.on('response.output_item.done', (event) => {
      if (event.item.type === 'reasoning') done.push(event.item);
    });
    const first = await stream.finalResponse();
    expect(done).toHaveLength(1);
    expect(done[0]?.encrypted_content).toEqual(expect.any(String));
    expect(reasoningItems(first)[0]?.encrypted_content).toBe(done[0]?.encrypted_content);

    const second = await ask([{ type: 'function_call_output', call_id: callOf(first).call_id, output: 'sunny, 21°C' }], {
      previous_response_id: first.id,
    });
    expect(second.output_text).toBe('Tool results: sunny, 21°C');
    expect(upstream.thinking(sent())).toEqual({ type: 'enabled', budget_tokens: 8192 });
    expect(upstream.blockKinds(sent(), 1)).toEqual(upstream.toolTurn);
  });

  it('completes the tool loop without thinking when the caller leaves the reasoning item out, and says why in the debug log', async () => {
    const first = await ask([question], { store: false });
    const call = callOf(first);
    const second = await ask(
      [
        question,
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21°C' },
      ],
      { store: false },
    );
    expect(second.status).toBe('completed');
    expect(second.output_text).toBe('Tool results: sunny, 21°C');
    expect(upstream.thinking(sent())).toBeUndefined();
    await expect.poll(() => gateway.output().stdout).toMatch(/"field":"reasoning_effort"[^\n]*thinking blocks/);
  });
});

describe('a Responses caller on Claude through Bedrock whose answer has a redacted reasoning block', () => {
  it('gets it in the reasoning item with the signed one, and it goes back as it came', async () => {
    const model = 'br/us.anthropic.claude-sonnet-4-fake-redacted-v1:0';
    const ask = (input: ResponseInputItem[]) =>
      client.responses.create({ model, input, tools: [weather], reasoning: { effort: 'low' }, store: false });
    const first = await ask([question]);
    const call = callOf(first);
    const second = await ask([
      question,
      ...(first.output as ResponseInputItem[]),
      { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21°C' },
    ]);
    expect(second.output_text).toBe('Tool results: sunny, 21°C');
    const assistant = messagesOf(bedrockFake.requests.at(-1)?.body as Record<string, unknown>)[1];
    expect(assistant?.content.slice(0, 2)).toEqual([
      { reasoningContent: { reasoningText: { text: THOUGHT, signature: expect.any(String) as string } } },
      { reasoningContent: { redactedContent: REDACTED_REASONING } },
    ]);
  });
});

describe('a Responses conversation that moves from Claude to OpenAI (relayed)', () => {
  it('leaves Claude’s reasoning items out of what OpenAI gets, by previous_response_id or as input', async () => {
    const first = await client.responses.create({
      model: 'claude/claude-sonnet-4-5',
      input: [question],
      tools: [weather],
      reasoning: { effort: 'low' },
    });
    const call = callOf(first);
    const toolOutput: ResponseInputItem = { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21°C' };
    const inputTypes = (): unknown[] =>
      (openaiFake.requests.at(-1)?.body as { input?: { type?: string }[] } | undefined)?.input?.map((item) => item.type ?? 'message') ?? [];

    const byId = await client.responses.create({ model: 'openai/gpt-4.1', input: [toolOutput], previous_response_id: first.id });
    expect(byId.status).toBe('completed');
    expect(inputTypes()).toEqual(['message', 'function_call', 'function_call_output']);

    const asInput = await client.responses.create({
      model: 'openai/gpt-4.1',
      input: [question, ...(first.output as ResponseInputItem[]), toolOutput],
    });
    expect(asInput.status).toBe('completed');
    expect(inputTypes()).toEqual(['message', 'function_call', 'function_call_output']);
  });
});

describe('a Responses conversation that moves from DeepSeek (reasoning_content) to OpenAI (relayed)', () => {
  // OpenAI refuses a reasoning item it did not issue (the fake as the real API: 400, unknown id).
  it('leaves the reasoning items the gateway made out of what OpenAI gets, by previous_response_id or as input', async () => {
    const first = await client.responses.create({ model: 'deepseek/deepseek-reasoner', input: [question] });
    const reasoning = first.output.filter((item): item is ResponseReasoningItem => item.type === 'reasoning');
    expect(reasoning).toHaveLength(1);
    expect(reasoning[0]?.encrypted_content ?? undefined).toBeUndefined();
    const inputTypes = (): unknown[] =>
      (openaiFake.requests.at(-1)?.body as { input?: { type?: string }[] } | undefined)?.input?.map((item) => item.type ?? 'message') ?? [];
    const next: ResponseInputItem = { role: 'user', content: 'And tomorrow?' };

    const byId = await client.responses.create({ model: 'openai/gpt-4.1', input: [next], previous_response_id: first.id });
    expect(byId.status).toBe('completed');
    expect(inputTypes()).toEqual(['message', 'message', 'message']);

    const asInput = await client.responses.create({
      model: 'openai/gpt-4.1',
      input: [question, ...(first.output as ResponseInputItem[]), next],
    });
    expect(asInput.status).toBe('completed');
    expect(inputTypes()).toEqual(['message', 'message', 'message']);
  });

  it('still refuses, as OpenAI would, a reasoning item OpenAI never issued that the gateway did not make', async () => {
    const stranger = { type: 'reasoning', id: 'rs_0123456789abcdef', summary: [] } as ResponseInputItem;
    const error = await client.responses
      .create({ model: 'openai/gpt-4.1', input: [question, stranger] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(String((error as Error).message)).toMatch(/rs_0123456789abcdef.*not found/);
  });
});
