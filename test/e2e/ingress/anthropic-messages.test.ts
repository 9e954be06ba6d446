import Anthropic, { APIError } from '@anthropic-ai/sdk';
import type { MessageParam, Tool } from '@anthropic-ai/sdk/resources/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../../fakes/openai-upstream.ts';
import { ANTHROPIC_KEY, anthropicDialect } from '../../fakes/providers/anthropic.ts';
import { GOOGLE_KEY, googleDialect } from '../../fakes/providers/google.ts';
import { startFakeProvider, type FakeProvider } from '../../fakes/providers/harness.ts';
import { AWS_KEYS, AWS_REGION, bedrockDialect } from '../../fakes/providers/bedrock.ts';
import { deepseekDialect, FAKE_KEY, groqDialect, mistralDialect } from '../../fakes/providers/openai-like.ts';
import { accessLogLine } from '../../support/access-log.ts';
import { startGateway, type GatewayProcess } from '../../support/gateway-process.ts';

const OPENAI_KEY = 'sk-upstream-openai-ingress';

let anthropicFake: FakeProvider;
let googleFake: FakeProvider;
let groqFake: FakeProvider;
let mistralFake: FakeProvider;
let deepseekFake: FakeProvider;
let bedrockFake: FakeProvider;
let openaiFake: OpenAIUpstream;
let gateway: GatewayProcess;
let client: Anthropic;

beforeAll(async () => {
  [anthropicFake, googleFake, groqFake, mistralFake, deepseekFake, bedrockFake, openaiFake] = await Promise.all([
    startFakeProvider(anthropicDialect, '/v1'),
    startFakeProvider(googleDialect, '/v1beta'),
    startFakeProvider(groqDialect, '/openai/v1'),
    startFakeProvider(mistralDialect, '/v1'),
    startFakeProvider(deepseekDialect, '/v1'),
    startFakeProvider(bedrockDialect()),
    startOpenAIUpstream(),
  ]);
  gateway = await startGateway({
    config: `
providers:
  claude: { type: anthropic, base_url: ${anthropicFake.url}, api_key: ${ANTHROPIC_KEY} }
  gemini: { type: google, base_url: ${googleFake.url}, api_key: ${GOOGLE_KEY} }
  openai: { type: openai, base_url: ${openaiFake.url}, api_key: ${OPENAI_KEY} }
  groq: { type: groq, base_url: ${groqFake.url}, api_key: ${FAKE_KEY} }
  mistral: { type: mistral, base_url: ${mistralFake.url}, api_key: ${FAKE_KEY} }
  deepseek: { type: deepseek, base_url: ${deepseekFake.url}, api_key: ${FAKE_KEY} }
  bedrock:
    type: bedrock
    base_url: ${bedrockFake.url}
    region: ${AWS_REGION}
    access_key_id: ${AWS_KEYS.accessKeyId}
    secret_access_key: ${AWS_KEYS.secretAccessKey}
models:
  sonnet: { provider: claude, model: claude-sonnet-4-5 }
logging: { level: debug }
`,
  });
  client = new Anthropic({ baseURL: gateway.url, apiKey: 'caller-key', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([anthropicFake, googleFake, groqFake, mistralFake, deepseekFake, bedrockFake, openaiFake].map((fake) => fake?.close()));
});

const weather: Tool = {
  name: 'weather',
  description: 'Weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** Each upstream the Messages API reaches: natively (Anthropic) or translated over chat (OpenAI, Gemini). */
const upstreams = [
  { name: 'an Anthropic upstream (relayed natively)', model: 'sonnet', toolResult: /^Tool results: / },
  { name: 'an OpenAI upstream (translated)', model: 'openai/gpt-4o-mini', toolResult: /^Tool result: / },
  { name: 'a Gemini upstream (translated)', model: 'gemini/gemini-2.5-flash', toolResult: /^Tool results: / },
] as const;

describe.each(upstreams)('the Messages API to $name', ({ model, toolResult }) => {
  it('answers a message with text, stop reason and usage', async () => {
    const message = await client.messages.create({
      model,
      max_tokens: 200,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.id).toMatch(/^msg_/);
    expect(message.content).toEqual([{ type: 'text', text: 'You said: hello there' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it('streams a message that the SDK stream helper assembles', async () => {
    const stream = client.messages.stream({ model, max_tokens: 200, messages: [{ role: 'user', content: 'stream me a few words' }] });
    const events: string[] = [];
    let text = '';
    stream.on('streamEvent', (event) => events.push(event.type));
    stream.on('text', (delta) => (text += delta));
    const message = await stream.finalMessage();
    expect(text).toBe('You said: stream me a few words');
    expect(message.content).toEqual([{ type: 'text', text: 'You said: stream me a few words' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(events[0]).toBe('message_start');
    expect(events.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(events.filter((type) => type === 'content_block_delta').length).toBeGreaterThan(1);
  });

  it('uses a tool over two turns, the call streamed as input_json_delta', async () => {
    const messages: MessageParam[] = [{ role: 'user', content: 'weather in Paris?' }];
    const stream = client.messages.stream({ model, max_tokens: 200, messages, tools: [weather] });
    const jsonDeltas: string[] = [];
    stream.on('inputJson', (partial) => jsonDeltas.push(partial));
    const first = await stream.finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const call = first.content.find((block) => block.type === 'tool_use');
    if (call?.type !== 'tool_use') throw new Error('expected a tool_use block');
    expect(call.name).toBe('weather');
    expect(call.input).toEqual({ city: 'Paris' });
    expect(call.id).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(jsonDeltas.join('')).toBe('{"city":"Paris"}');

    messages.push(
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '{"temp":21}' }] },
    );
    const second = await client.messages.create({ model, max_tokens: 200, messages, tools: [weather] });
    expect(second.stop_reason).toBe('end_turn');
    const [block] = second.content;
    expect(block?.type === 'text' ? block.text : '').toMatch(toolResult);
    expect(block?.type === 'text' ? block.text : '').toContain('{"temp":21}');
  });

  it('refuses bad input with a 400 in Anthropic’s error shape', async () => {
    const refused = client.messages.create({ model, max_tokens: 0, messages: [{ role: 'user', content: 'x' }] });
    await expect(refused).rejects.toMatchObject({ status: 400, error: { type: 'error', error: { type: 'invalid_request_error' } } });
  });
});

describe('the Messages API through the gateway', () => {
  it('relays the request to Anthropic as the caller sent it, with the configured key and the caller’s version', async () => {
    await client.messages.create(
      { model: 'sonnet', max_tokens: 64, stop_sequences: ['END'], messages: [{ role: 'user', content: 'relay me' }] },
      { headers: { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'fine-grained-tool-streaming-2025-05-14' } },
    );
    const sent = anthropicFake.requests.at(-1);
    expect(sent?.path).toBe('/v1/messages');
    expect(sent?.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      stop_sequences: ['END'],
      messages: [{ role: 'user', content: 'relay me' }],
    });
    expect(sent?.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(sent?.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent?.headers['anthropic-beta']).toBe('fine-grained-tool-streaming-2025-05-14');
  });

  it('reads the usage of relayed answers, streamed (message_start + message_delta) or whole, for the access log', async () => {
    const logged = (requestId: string) => accessLogLine(gateway, requestId);
    const params = { model: 'sonnet', max_tokens: 50, messages: [{ role: 'user' as const, content: 'count me' }] };
    const whole = await client.messages.create(params).withResponse();
    const streamed = await client.messages.create({ ...params, stream: true }).withResponse();
    for await (const _event of streamed.data) {
      /* drain */
    }
    // The fake counts 21 input tokens, 4 cache reads and 9 output tokens; OpenAI's prompt_tokens include cache reads.
    const usage = { prompt_tokens: 25, completion_tokens: 9, total_tokens: 34, cached_tokens: 4 };
    expect(await logged(whole.response.headers.get('x-request-id') ?? '')).toMatchObject({ provider: 'claude', streaming: false, usage });
    // Priced like chat: the catalog's Claude Sonnet 4.5 price of that usage.
    expect(Number(whole.response.headers.get('x-lightport-cost-usd'))).toBeGreaterThan(0);
    expect(await logged(streamed.response.headers.get('x-request-id') ?? '')).toMatchObject({ provider: 'claude', streaming: true, usage });
    expect(gateway.output().stdout).not.toContain(ANTHROPIC_KEY);
    expect(gateway.output().stdout).not.toContain(OPENAI_KEY);
  });

  it('sends the events in Anthropic’s order, with a ping after message_start', async () => {
    for (const model of ['sonnet', 'openai/gpt-4o-mini']) {
      const response = await fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model, max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'order please' }] }),
      });
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = [...(await response.text()).matchAll(/^event: (\w+)$/gm)].map((match) => match[1]);
      const deltas = events.filter((event) => event === 'content_block_delta').length;
      expect(deltas).toBeGreaterThan(0);
      expect(events).toEqual([
        'message_start',
        'ping',
        'content_block_start',
        ...Array<string>(deltas).fill('content_block_delta'),
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
    }
  });

  it('counts tokens at Anthropic, and estimates them for other providers', async () => {
    const params = { messages: [{ role: 'user' as const, content: 'count these five words please' }], system: 'be brief' };
    const counted = await client.messages.countTokens({ model: 'sonnet', ...params });
    expect(counted).toEqual({ input_tokens: 7 });
    expect(anthropicFake.requests.at(-1)?.path).toBe('/v1/messages/count_tokens');
    const { data, response } = await client.messages.countTokens({ model: 'openai/gpt-4o-mini', ...params }).withResponse();
    expect(response.headers.get('x-lightport-token-count')).toBe('estimate');
    // o200k_base: "be brief" is 2 tokens, the question 5; 3 per message and 3 to prime the answer.
    expect(data.input_tokens).toBe(2 + 5 + 3 * 2 + 3);
  });

  it('answers an unknown model with a 404 not_found_error', async () => {
    const error = await client.messages
      .create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ status: 404, error: { type: 'error', error: { type: 'not_found_error' } } });
    expect((error as APIError).message).toMatch(/no-such-model/);
  });

  it('maps upstream errors to Anthropic’s error types, whatever the provider', async () => {
    for (const model of ['claude/fake-429', 'gemini/fake-429', 'claude/fake-overloaded']) {
      const error = await client.messages
        .create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
        .catch((caught: unknown) => caught);
      const type = model.endsWith('429') ? 'rate_limit_error' : 'overloaded_error';
      expect(error).toMatchObject({ error: { type: 'error', error: { type } } });
    }
  });

  it('ends a stream the upstream cuts with an Anthropic error event, relayed or translated', async () => {
    for (const model of ['claude/fake-cut', 'gemini/fake-cut']) {
      const stream = client.messages.stream({
        model,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'a long answer that will be cut off half way through please' }],
      });
      await expect(stream.finalMessage()).rejects.toMatchObject({ error: { type: 'error', error: { type: 'api_error' } } });
    }
  });

  it('refuses unreadable JSON in Anthropic’s error shape', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', body: '{nope' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  /** The debug lines saying the gateway dropped `field` from the request `requestId`. */
  const droppedLines = (requestId: string, field: string): string[] =>
    gateway
      .output()
      .stdout.split('\n')
      .filter((line) => line.includes(`"request_id":"${requestId}"`) && line.includes(`"field":"${field}"`));

  /** The request was answered, and the gateway logged (at debug, by name) that it dropped `field` for `provider`. */
  async function expectDropped(response: Response, field: string, provider: string): Promise<void> {
    const requestId = response.headers.get('x-request-id') ?? '';
    await expect.poll(() => droppedLines(requestId, field).length).toBe(1);
    expect(JSON.parse(droppedLines(requestId, field)[0] ?? '{}')).toMatchObject({ level: 20, provider, field });
  }

  it('drops top_k for OpenAI-format providers, which refuse it, logging it at debug; Gemini gets it as topK', async () => {
    const params = { max_tokens: 50, top_k: 5, temperature: 0.5, messages: [{ role: 'user' as const, content: 'sample narrowly' }] };
    for (const model of ['openai/gpt-4o-mini', 'groq/llama-3.3-70b-versatile']) {
      const { data, response } = await client.messages.create({ ...params, model }).withResponse();
      expect(data.content).toEqual([{ type: 'text', text: 'You said: sample narrowly' }]);
      const sent = (model.startsWith('openai/') ? openaiFake.requests : groqFake.requests).at(-1)?.body as Record<string, unknown>;
      expect(sent).toMatchObject({ temperature: 0.5 });
      expect(sent).not.toHaveProperty('top_k');
      await expectDropped(response, 'top_k', model.split('/')[0] ?? '');
    }
    await client.messages.create({ ...params, model: 'gemini/gemini-2.5-flash' });
    expect(googleFake.requests.at(-1)?.body).toMatchObject({ generationConfig: { topK: 5, temperature: 0.5 } });
  });

  it('sends a thinking budget as reasoning_effort where the provider takes it, exactly to Claude on Bedrock, and drops it (debug) where it does not', async () => {
    const params = {
      max_tokens: 8000,
      thinking: { type: 'enabled' as const, budget_tokens: 4096 },
      messages: [{ role: 'user' as const, content: 'think it over' }],
    };
    for (const [model, fake] of [
      ['openai/gpt-4o-mini', openaiFake],
      ['groq/llama-3.3-70b-versatile', groqFake],
      ['deepseek/deepseek-chat', deepseekFake],
    ] as const) {
      const message = await client.messages.create({ ...params, model });
      expect(message.content.at(-1)).toEqual({ type: 'text', text: 'You said: think it over' });
      expect(fake.requests.at(-1)?.body).toMatchObject({ reasoning_effort: 'medium' });
      expect(fake.requests.at(-1)?.body).not.toHaveProperty('thinking');
    }
    // An earlier turn's signed thinking block is not handed to an OpenAI-format server, which has no such message field.
    const signed = { type: 'thinking' as const, thinking: 'Hm.', signature: 'c2lnbmVk' };
    await client.messages.create({
      ...params,
      model: 'openai/gpt-4o-mini',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [signed, { type: 'text', text: 'Hello.' }] },
        { role: 'user', content: 'think it over' },
      ],
    });
    const history = (openaiFake.requests.at(-1)?.body as { messages?: unknown[] } | undefined)?.messages;
    expect(history?.[1]).toEqual({ role: 'assistant', content: 'Hello.' });
    for (const model of ['mistral/mistral-large-latest', 'bedrock/meta.llama3-70b-instruct-v1:0']) {
      const { data, response } = await client.messages.create({ ...params, model }).withResponse();
      expect(data.content).toEqual([{ type: 'text', text: 'You said: think it over' }]);
      await expectDropped(response, 'reasoning_effort', model.split('/')[0] ?? '');
      // The exact budget goes with the effort: one line says the setting was dropped.
      expect(droppedLines(response.headers.get('x-request-id') ?? '', 'thinking')).toEqual([]);
    }
    expect(mistralFake.requests.at(-1)?.body).not.toHaveProperty('reasoning_effort');
    expect(bedrockFake.requests.at(-1)?.body).not.toHaveProperty('additionalModelRequestFields');
    const message = await client.messages.create({ ...params, model: 'bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0' });
    expect(bedrockFake.requests.at(-1)?.body).toMatchObject({
      additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 4096 } },
      inferenceConfig: { maxTokens: 8000 },
    });
    expect(message.content.map((block) => block.type)).toEqual(['thinking', 'text']);
  });

  it('sends top_k to a Claude model on Bedrock in additionalModelRequestFields, and drops it (debug) for other Bedrock models', async () => {
    const params = { max_tokens: 50, top_k: 5, temperature: 0.5, messages: [{ role: 'user' as const, content: 'sample narrowly' }] };
    for (const model of ['anthropic.claude-3-5-haiku-20241022-v1:0', 'us.anthropic.claude-sonnet-4-20250514-v1:0']) {
      const message = await client.messages.create({ ...params, model: `bedrock/${model}` });
      expect(message.content).toEqual([{ type: 'text', text: 'You said: sample narrowly' }]);
      expect(bedrockFake.requests.at(-1)?.body).toMatchObject({
        inferenceConfig: { maxTokens: 50, temperature: 0.5 },
        additionalModelRequestFields: { top_k: 5 },
      });
    }
    const { data, response } = await client.messages.create({ ...params, model: 'bedrock/meta.llama3-70b-instruct-v1:0' }).withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'You said: sample narrowly' }]);
    expect(bedrockFake.requests.at(-1)?.body).not.toHaveProperty('additionalModelRequestFields');
    expect(bedrockFake.requests.at(-1)?.body).toMatchObject({ inferenceConfig: { maxTokens: 50, temperature: 0.5 } });
    await expectDropped(response, 'top_k', 'bedrock');
  });

  it('refuses a field only Anthropic understands when the provider is another', async () => {
    const refused = client.messages.create({
      model: 'openai/gpt-4o-mini',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
    });
    await expect(refused).rejects.toMatchObject({ status: 400, error: { error: { type: 'invalid_request_error' } } });
  });
});
