import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

let gateway: GatewayProcess;
let client: OpenAI;

beforeAll(async () => {
  gateway = await startGateway({
    config: `
server: { request_timeout_ms: 400 }
providers:
  echo: { type: mock, chunk_words: 1 }
  fixed:
    type: mock
    response: { text: "Always this answer." }
    usage: { prompt_tokens: 11, completion_tokens: 4 }
  slow: { type: mock, first_token_ms: 150 }
  flaky:
    type: mock
    errors: [{ rate: 0.5, kind: status, status: 503, message: "injected outage" }]
  resets:
    type: mock
    errors: [{ rate: 1, kind: reset }]
  hangs:
    type: mock
    errors: [{ rate: 1, kind: hang }]
  tools:
    type: mock
    tool_calls:
      - { name: lookup_order, arguments: { order_id: "A-1" } }
      - { name: "*", arguments: { q: "x" } }
models:
  bounded: { provider: hangs, model: m, deadline_ms: 150 }
`,
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
});

const user = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];
const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
  );

describe('mock provider', () => {
  it('echoes the last user message, and streams it back word by word', async () => {
    const answer = await client.chat.completions.create({ model: 'echo/any', messages: user('the quick brown fox') });
    expect(answer.choices[0]?.message.content).toBe('the quick brown fox');
    const stream = await client.chat.completions.create({ model: 'echo/any', stream: true, messages: user('the quick brown fox') });
    const pieces: string[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
    expect(pieces).toEqual(['the ', 'quick ', 'brown ', 'fox']);
  });

  it('answers fixed text with configured usage', async () => {
    const answer = await client.chat.completions.create({ model: 'fixed/m', messages: user('anything') });
    expect(answer.choices[0]?.message.content).toBe('Always this answer.');
    expect(answer.usage).toEqual({ prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });
  });

  it('waits the configured time to first token', async () => {
    const started = performance.now();
    await client.chat.completions.create({ model: 'slow/m', messages: user('x') });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('injects failures at exactly the configured rate', async () => {
    const statuses: Array<number | undefined> = [];
    for (let index = 0; index < 6; index++) {
      const error = await errorOf(client.chat.completions.create({ model: 'flaky/m', messages: user('x') }));
      statuses.push(error?.status);
    }
    expect(statuses.filter((status) => status === 503)).toHaveLength(3);
    expect(statuses.filter((status) => status === undefined)).toHaveLength(3);
  });

  it('injects connection resets as 502', async () => {
    const error = await errorOf(client.chat.completions.create({ model: 'resets/m', messages: user('x') }));
    expect(error?.status).toBe(502);
  });

  it('injects hangs that end at the request deadline with 504', async () => {
    const error = await errorOf(client.chat.completions.create({ model: 'hangs/m', messages: user('x') }));
    expect(error?.status).toBe(504);
    expect(error?.code).toBe('upstream_timeout');
  });

  it("ends a hang at the model's own deadline when it is shorter than the server's", async () => {
    const started = performance.now();
    const error = await errorOf(client.chat.completions.create({ model: 'bounded', messages: user('x') }));
    const elapsed = performance.now() - started;
    expect(error?.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(150);
    // The server's own deadline is 400 ms: the model's fired first.
    expect(elapsed).toBeLessThan(390);
  });

  it('runs a scripted tool loop over two turns', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'search', parameters: { type: 'object', properties: {} } } },
      { type: 'function', function: { name: 'lookup_order', parameters: { type: 'object', properties: {} } } },
    ];
    const first = await client.chat.completions.create({ model: 'tools/m', messages: user('where is my order?'), tools });
    const message = first.choices[0]?.message;
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    const calls = (message?.tool_calls ?? []).flatMap((call) => (call.type === 'function' ? [call] : []));
    expect(calls.map((call) => [call.function.name, JSON.parse(call.function.arguments)])).toEqual([
      ['lookup_order', { order_id: 'A-1' }],
      ['search', { q: 'x' }],
    ]);

    const second = await client.chat.completions.create({
      model: 'tools/m',
      tools,
      messages: [
        ...user('where is my order?'),
        message as OpenAI.ChatCompletionMessageParam,
        ...calls.map((call) => ({ role: 'tool' as const, tool_call_id: call.id, content: `result of ${call.function.name}` })),
      ],
    });
    expect(second.choices[0]?.finish_reason).toBe('stop');
    expect(second.choices[0]?.message.content).toBe('Tool results: result of lookup_order; result of search');
  });

  it('returns deterministic embeddings', async () => {
    const one = await client.embeddings.create({ model: 'echo/embed', input: 'same text', encoding_format: 'float' });
    const two = await client.embeddings.create({ model: 'echo/embed', input: 'same text', encoding_format: 'float' });
    const other = await client.embeddings.create({ model: 'echo/embed', input: 'other text', encoding_format: 'float' });
    expect(one.data[0]?.embedding).toEqual(two.data[0]?.embedding);
    expect(one.data[0]?.embedding).not.toEqual(other.data[0]?.embedding);
    expect(one.data[0]?.embedding).toHaveLength(16);
  });
});
