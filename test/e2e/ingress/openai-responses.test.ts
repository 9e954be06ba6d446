import OpenAI, { APIError } from 'openai';
import type { FunctionTool, ResponseFunctionToolCall, ResponseInputItem, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../../fakes/providers/harness.ts';
import { FAKE_KEY, mistralDialect } from '../../fakes/providers/openai-like.ts';
import { startIngressSetup, type IngressSetup } from './upstreams.ts';

let setup: IngressSetup;
let mistralFake: FakeProvider;
let client: OpenAI;

beforeAll(async () => {
  mistralFake = await startFakeProvider(mistralDialect, '/v1');
  setup = await startIngressSetup(
    'models:\n  gpt: { provider: openai, model: gpt-4.1 }\n',
    `  mistral: { type: mistral, base_url: ${mistralFake.url}, api_key: ${FAKE_KEY} }\n`,
  );
  client = new OpenAI({ baseURL: `${setup.gateway.url}/v1`, apiKey: 'caller-key', maxRetries: 0 });
});

afterAll(async () => {
  await setup?.stop();
  await mistralFake?.close();
});

const weather: FunctionTool = {
  type: 'function',
  name: 'weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};
const attractions: FunctionTool = { ...weather, name: 'cityAttractions', description: 'Things to see' };

const functionCalls = (output: readonly { type: string }[]): ResponseFunctionToolCall[] =>
  output.filter((item): item is ResponseFunctionToolCall => item.type === 'function_call');

/** The Responses API relayed to OpenAI, and adapted over chat to an Anthropic upstream. */
const upstreams = [
  { name: 'OpenAI (relayed)', model: 'gpt', parallel: 'gpt', toolResult: /^Tool result: / },
  {
    name: 'an Anthropic upstream (adapted over chat)',
    model: 'claude/m-text',
    parallel: 'claude/m-parallel',
    toolResult: /^Tool results: /,
  },
] as const;

describe.each(upstreams)('the Responses API to $name', ({ model, toolResult }) => {
  it('answers text with usage, and keeps the response for GET and input_items', async () => {
    const response = await client.responses.create({ model, input: 'hello there', instructions: 'Be brief.' });
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('You said: hello there');
    expect(response.usage?.input_tokens).toBeGreaterThan(0);
    expect(response.usage?.total_tokens).toBe((response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0));

    const again = await client.responses.retrieve(response.id);
    expect(again.id).toBe(response.id);
    expect(again.output).toEqual(response.output);
    const items = await client.responses.inputItems.list(response.id);
    expect(items.data).toHaveLength(1);
    expect(items.data[0]).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello there' }] });

    // The SDK types the answer as void; the API (and the gateway) answer with the deletion record.
    expect((await client.responses.delete(response.id)) as unknown).toEqual({ id: response.id, object: 'response', deleted: true });
    await expect(client.responses.retrieve(response.id)).rejects.toMatchObject({ status: 404 });
  });

  it('streams events in order, numbered, that the SDK stream helper assembles', async () => {
    const stream = client.responses.stream({ model, input: 'stream me a few words' });
    const events: ResponseStreamEvent[] = [];
    let text = '';
    stream.on('event', (event) => events.push(event));
    stream.on('response.output_text.delta', (event) => (text += event.delta));
    const response = await stream.finalResponse();
    expect(text).toBe('You said: stream me a few words');
    expect(response.output_text).toBe(text);
    expect(response.status).toBe('completed');
    expect(response.usage?.output_tokens).toBeGreaterThan(0);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, index) => index));
    const types = events.map((event) => event.type);
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('calls a function, then answers from its output on the next turn (previous_response_id)', async () => {
    const first = await client.responses.create({ model, input: 'weather in Paris?', tools: [weather] });
    const [call] = functionCalls(first.output);
    expect(call).toMatchObject({ type: 'function_call', name: 'weather' });
    expect(JSON.parse(call?.arguments ?? '')).toEqual({ city: 'Paris' });
    const second = await client.responses.create({
      model,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call?.call_id ?? '', output: '{"temp":21}' }],
      tools: [weather],
    });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toMatch(toolResult);
    expect(second.output_text).toContain('{"temp":21}');
  });

  it('streams a function call, then takes the whole conversation back as input items', async () => {
    const input: ResponseInputItem[] = [{ role: 'user', content: 'weather in Paris?' }];
    const stream = client.responses.stream({ model, input, tools: [weather], store: false });
    let streamedArguments = '';
    stream.on('response.function_call_arguments.delta', (event) => (streamedArguments += event.delta));
    const first = await stream.finalResponse();
    const [call] = functionCalls(first.output);
    expect(call?.name).toBe('weather');
    expect(streamedArguments).toBe(call?.arguments);
    input.push(...functionCalls(first.output), { type: 'function_call_output', call_id: call?.call_id ?? '', output: 'sunny' });
    const second = await client.responses.create({ model, input, tools: [weather], store: false });
    expect(second.output_text).toMatch(toolResult);
    expect(second.output_text).toContain('sunny');
  });
});

describe('the Responses API through the gateway', () => {
  it('relays to OpenAI unchanged but for the model, and still reads usage from response.completed', async () => {
    const { data: stream, response } = await client.responses
      .create({ model: 'gpt', input: 'count my usage', stream: true, metadata: { team: 'a' } })
      .withResponse();
    const requestId = response.headers.get('x-request-id') ?? '';
    let completed: ResponseStreamEvent | undefined;
    for await (const event of stream) if (event.type === 'response.completed') completed = event;
    expect(setup.openaiFake.requests.at(-1)?.body).toEqual({
      model: 'gpt-4.1',
      input: 'count my usage',
      stream: true,
      metadata: { team: 'a' },
    });
    const usage = completed?.type === 'response.completed' ? completed.response.usage : undefined;
    const logLine = (): string =>
      setup.gateway
        .output()
        .stdout.split('\n')
        .find((entry) => entry.includes(`"request_id":"${requestId}"`)) ?? '';
    await expect.poll(logLine).not.toBe('');
    const line = logLine();
    expect(JSON.parse(line)).toMatchObject({
      provider: 'openai',
      streaming: true,
      usage: { prompt_tokens: usage?.input_tokens, completion_tokens: usage?.output_tokens, total_tokens: usage?.total_tokens },
    });
  });

  it('merges parallel function calls into one assistant turn for a chat upstream', async () => {
    const first = await client.responses.create({ model: 'claude/m-parallel', input: 'plan my day', tools: [weather, attractions] });
    const calls = functionCalls(first.output);
    expect(calls.map((call) => call.name)).toEqual(['weather', 'cityAttractions']);
    const second = await client.responses.create({
      model: 'claude/m-parallel',
      previous_response_id: first.id,
      input: calls.map((call, index) => ({ type: 'function_call_output' as const, call_id: call.call_id, output: `result ${index}` })),
      tools: [weather, attractions],
    });
    expect(second.output_text).toBe('Tool results: result 0 | result 1');
    const items = await client.responses.inputItems.list(second.id, { order: 'asc' });
    expect(items.data.map((item) => item.type)).toEqual([
      'message',
      'function_call',
      'function_call',
      'function_call_output',
      'function_call_output',
    ]);
  });

  it('refuses an unknown previous_response_id for a chat upstream, in OpenAI’s error shape', async () => {
    const error = await client.responses
      .create({ model: 'claude/m-text', input: 'x', previous_response_id: 'resp_unknown' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ status: 400, code: 'previous_response_not_found', param: 'previous_response_id' });
  });

  it('refuses tools a chat upstream cannot run with a 400 naming them', async () => {
    const refused = client.responses.create({ model: 'claude/m-text', input: 'x', tools: [{ type: 'web_search' }] });
    await expect(refused).rejects.toMatchObject({ status: 400, param: 'tools[0].type', code: 'unsupported_parameter' });
  });

  it('ends a stream the upstream cuts with a numbered error event, which the SDK raises', async () => {
    const stream = await client.responses.create({
      model: 'claude/fake-cut',
      input: 'a long answer that will be cut off half way through please',
      stream: true,
    });
    const numbers: number[] = [];
    const read = async (): Promise<void> => {
      for await (const event of stream) numbers.push(event.sequence_number);
    };
    await expect(read()).rejects.toMatchObject({ code: 'upstream_error' });
    expect(numbers).toEqual(numbers.map((_number, index) => index));
  });

  it('drops reasoning.effort for a chat upstream that refuses reasoning_effort (Mistral), as /v1/messages drops thinking', async () => {
    const response = await client.responses.create({
      model: 'mistral/mistral-large-latest',
      input: 'think it over',
      reasoning: { effort: 'low' },
    });
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('You said: think it over');
    expect(mistralFake.requests.at(-1)?.body).toMatchObject({ model: 'mistral-large-latest' });
    expect(mistralFake.requests.at(-1)?.body).not.toHaveProperty('reasoning_effort');
  });

  it('answers an unknown response id with a 404', async () => {
    await expect(client.responses.retrieve('resp_nowhere')).rejects.toMatchObject({ status: 404, code: 'response_not_found' });
  });
});
