import OpenAI, { APIError } from 'openai';
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProvider, RecordedCall } from '../../fakes/providers/harness.ts';
import { startGateway, type GatewayProcess } from '../../support/gateway-process.ts';

/** What differs per provider in the shared end-to-end suite. */
export interface ProviderSuite {
  readonly type: string;
  startFake(): Promise<FakeProvider>;
  /** YAML for one provider entry (type and its settings), with a working or a wrong credential. */
  providerYaml(fakeUrl: string, credential: 'valid' | 'wrong'): string;
  readonly authStatus?: number;
  /** The Retry-After the client should see on a 429, when the provider sends a hint. */
  readonly retryAfter?: string;
  /** Images by URL: sent upstream, or refused with a 400 naming why. */
  readonly imageUrls: 'sent' | 'refused';
  /** JSON schemas in response_format: honored, or refused with a 400 (JSON object mode still works). */
  readonly jsonSchema?: 'refused';
  /** A field the provider cannot honor, refused by the gateway with a 400 naming it; absent where all pass through. */
  readonly refusedField?: string;
  /** Checks the upstream request's auth and addressing. */
  checkRequest(call: RecordedCall): void;
}

const TINY_PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const weather: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const attractions: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'cityAttractions',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

const model = (name: string): string => `p/${name}`;
const indent = (yaml: string): string => yaml.replace(/^/gm, '    ');

export function describeProvider(suite: ProviderSuite): void {
  describe(`${suite.type} provider through the gateway`, () => {
    let fake: FakeProvider;
    let gateway: GatewayProcess;
    let client: OpenAI;

    beforeAll(async () => {
      fake = await suite.startFake();
      gateway = await startGateway({
        config: `providers:\n  p:\n${indent(suite.providerYaml(fake.url, 'valid'))}\n  wrong:\n${indent(suite.providerYaml(fake.url, 'wrong'))}\n`,
      });
      client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'caller', maxRetries: 0 });
    });
    afterAll(async () => {
      await gateway?.stop();
      await fake?.close();
    });

    it('answers text, with usage, and sends the request the way the provider wants it', async () => {
      const completion = await client.chat.completions.create({
        model: model('m-text'),
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hello there' },
        ],
        max_completion_tokens: 50,
        temperature: 0.2,
        user: 'user-1',
      });
      expect(completion.object).toBe('chat.completion');
      expect(completion.choices[0]?.message.content).toBe('You said: hello there');
      expect(completion.choices[0]?.finish_reason).toBe('stop');
      expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? -1) + (completion.usage?.completion_tokens ?? -1));
      expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
      const call = fake.requests.at(-1);
      expect(call).toBeDefined();
      if (call) suite.checkRequest(call);
    });

    it('streams text that the SDK assembles, with the role first and a usage chunk', async () => {
      const stream = await client.chat.completions.create({
        model: model('m-stream'),
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'stream me a few words' }],
      });
      let text = '';
      let first = true;
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (first && choice) {
          expect(choice.delta.role).toBe('assistant');
          first = false;
        }
        text += choice?.delta.content ?? '';
        finish = choice?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('You said: stream me a few words');
      expect(finish).toBe('stop');
      expect(usage?.completion_tokens).toBeGreaterThan(0);
    });

    it('calls one tool and takes its result back on the next turn', async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'weather in Paris?' }];
      const first = await client.chat.completions.create({ model: model('m-tool'), messages, tools: [weather], tool_choice: 'auto' });
      const message = first.choices[0]?.message;
      expect(first.choices[0]?.finish_reason).toBe('tool_calls');
      expect(message?.tool_calls).toHaveLength(1);
      const call = message?.tool_calls?.[0];
      if (call?.type !== 'function') throw new Error('expected a function call');
      expect(call.function.name).toBe('weather');
      expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
      messages.push(message as OpenAI.ChatCompletionMessageParam, { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' });
      const second = await client.chat.completions.create({ model: model('m-tool'), messages, tools: [weather] });
      expect(second.choices[0]?.message.content).toBe('Tool results: {"temp":21}');
    });

    it('streams parallel tool calls that the SDK helper assembles, and takes both results back', async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'plan my day in Paris' }];
      const streamed = await client.chat.completions
        .stream({ model: model('m-parallel'), messages, tools: [weather, attractions], stream_options: { include_usage: true } })
        .finalChatCompletion();
      const message = streamed.choices[0]?.message;
      expect(streamed.choices[0]?.finish_reason).toBe('tool_calls');
      const calls = (message?.tool_calls ?? []).flatMap((call) => (call.type === 'function' ? [call] : []));
      expect(calls.map((call) => call.function.name)).toEqual(['weather', 'cityAttractions']);
      for (const call of calls) expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
      messages.push(
        { role: 'assistant', content: null, tool_calls: calls },
        ...calls.map((call, index) => ({ role: 'tool' as const, tool_call_id: call.id, content: `result ${index}` })),
      );
      const answer = await client.chat.completions.create({ model: model('m-parallel'), messages, tools: [weather, attractions] });
      expect(answer.choices[0]?.message.content).toBe('Tool results: result 0 | result 1');
    });

    it('sends images as base64 data and by URL', async () => {
      const completion = await client.chat.completions.create({
        model: model('m-image'),
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: TINY_PNG } },
            ],
          },
        ],
      });
      expect(completion.choices[0]?.message.content).toMatch(/^I see .*image.*You said: what is this\?$/);
      const byUrl = client.chat.completions.create({
        model: model('m-image'),
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'and this?' },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
            ],
          },
        ],
      });
      if (suite.imageUrls === 'sent') expect((await byUrl).choices[0]?.message.content).toContain('You said: and this?');
      else await expect(byUrl).rejects.toMatchObject({ status: 400 });
    });

    it('answers in JSON mode with an object matching the schema', async () => {
      if (suite.jsonSchema === 'refused') {
        const plain = await client.chat.completions.create({
          model: model('m-json'),
          messages: [{ role: 'user', content: 'give me JSON' }],
          response_format: { type: 'json_object' },
        });
        expect(typeof JSON.parse(plain.choices[0]?.message.content ?? '')).toBe('object');
        await expect(
          client.chat.completions.create({
            model: model('m-json'),
            messages: [{ role: 'user', content: 'x' }],
            response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
          }),
        ).rejects.toMatchObject({ status: 400, param: 'response_format' });
        return;
      }
      const completion = await client.chat.completions.create({
        model: model('m-json'),
        messages: [{ role: 'user', content: 'give me a city as JSON' }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'city', schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
        },
      });
      expect(JSON.parse(completion.choices[0]?.message.content ?? '')).toEqual({ city: 'Paris' });
      expect(completion.choices[0]?.finish_reason).toBe('stop');
    });

    it('refuses a field the provider cannot honor with a 400 naming it, before calling the provider', async () => {
      if (suite.refusedField === undefined) return;
      const before = fake.requests.length;
      const refused = client.chat.completions.create({
        model: model('m-refused'),
        messages: [{ role: 'user', content: 'x' }],
        [suite.refusedField]: { '50256': -100 },
      });
      await expect(refused).rejects.toMatchObject({ status: 400, param: suite.refusedField, code: 'unsupported_parameter' });
      expect(fake.requests.length).toBe(before);
    });

    const failure = async (name: string, provider = 'p'): Promise<APIError> => {
      try {
        await client.chat.completions.create({ model: `${provider}/${name}`, messages: [{ role: 'user', content: 'x' }] });
      } catch (error) {
        if (error instanceof APIError) return error;
        throw error;
      }
      throw new Error('expected an error');
    };

    it('maps a refused credential to an authentication error', async () => {
      const error = await failure('m-auth', 'wrong');
      expect(error.status).toBe(suite.authStatus ?? 401);
      expect(error.message).not.toBe('');
    });

    it('maps a too-long prompt to 400 context_length_exceeded, keeping the message', async () => {
      const error = await failure('fake-context');
      expect(error.status).toBe(400);
      expect(error.code).toBe('context_length_exceeded');
      expect(error.message).toMatch(/token|long|context/i);
    });

    it('maps rate limiting to 429 and passes the retry hint on', async () => {
      const error = await failure('fake-429');
      expect(error.status).toBe(429);
      expect(['rate_limit_error', 'requests']).toContain((error.error as { type?: string }).type);
      if (suite.retryAfter !== undefined) expect(error.headers?.get('retry-after')).toBe(suite.retryAfter);
    });

    it('maps an overloaded provider to 503 and a provider fault to 500', async () => {
      expect((await failure('fake-overloaded')).status).toBe(503);
      const server = await failure('fake-500');
      expect(server.status).toBe(500);
      expect((server.error as { type?: string }).type).toBe('server_error');
    });

    it('never writes the provider credential to its logs or to error bodies', async () => {
      const yaml = suite.providerYaml(fake.url, 'valid') + '\n' + suite.providerYaml(fake.url, 'wrong');
      const secrets = [...yaml.matchAll(/^(?:api_key|secret_access_key): (.+)$/gm)].map((match) => match[1] ?? '');
      expect(secrets.length).toBeGreaterThan(0);
      const refused = await failure('m-auth', 'wrong');
      const { stdout, stderr } = gateway.output();
      for (const secret of secrets) {
        expect(stdout + stderr).not.toContain(secret);
        expect(JSON.stringify(refused.error)).not.toContain(secret);
      }
    });

    it('ends a stream cut mid-way with an error, never a clean end', async () => {
      const stream = await client.chat.completions.create({
        model: model('fake-cut'),
        stream: true,
        messages: [{ role: 'user', content: 'a long answer that will be cut off half way through please' }],
      });
      await expect(
        (async () => {
          for await (const _chunk of stream) {
            /* drain */
          }
        })(),
      ).rejects.toThrow(/upstream/i);
    });
  });
}
