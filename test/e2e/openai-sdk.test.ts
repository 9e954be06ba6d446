import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MODELS, startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const PROVIDER_KEY = 'sk-upstream-secret-e2e-0123456789';

let upstream: OpenAIUpstream;
let gateway: GatewayProcess;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gateway = await startGateway({
    config: `
providers:
  openai:
    type: openai
    api_key: \${OPENAI_API_KEY}
    base_url: \${OPENAI_BASE_URL}
    headers: { x-team: e2e }
models:
  fast:
    provider: openai
    model: gpt-4o-mini
  embed:
    provider: openai
    model: text-embedding-3-small
`,
    env: { OPENAI_API_KEY: PROVIDER_KEY, OPENAI_BASE_URL: upstream.url },
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'caller-key-unused', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

const lastRequest = () => upstream.requests.at(-1);

describe('chat completions through the gateway with the official openai SDK', () => {
  it('answers a plain chat, routed by model alias, with the target named in headers', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'fast', messages: [{ role: 'user', content: 'ping one' }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toBe('You said: ping one');
    expect(data.model).toBe('gpt-4o-mini');
    expect(response.headers.get('x-lightport-provider')).toBe('openai');
    expect(response.headers.get('x-lightport-model')).toBe('gpt-4o-mini');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const sent = lastRequest();
    expect(sent?.path).toBe('/v1/chat/completions');
    expect(sent?.headers['authorization']).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(sent?.headers['x-team']).toBe('e2e');
    expect(sent?.body).toMatchObject({ model: 'gpt-4o-mini' });
  });

  it('routes <provider>/<upstream-model> and echoes a caller request id', async () => {
    const { data, response } = await client.chat.completions
      .create(
        { model: 'openai/gpt-4.1-nano', messages: [{ role: 'user', content: 'direct' }] },
        { headers: { 'x-request-id': 'req-abc.123' } },
      )
      .withResponse();
    expect(data.model).toBe('gpt-4.1-nano');
    expect(response.headers.get('x-request-id')).toBe('req-abc.123');
  });

  it('streams with usage, chunk by chunk, and the SDK reassembles the text', async () => {
    const stream = await client.chat.completions.create({
      model: 'fast',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream this please' }],
    });
    let text = '';
    let chunks = 0;
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('You said: stream this please');
    expect(chunks).toBeGreaterThan(3);
    expect(finish).toBe('stop');
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  it('logs one JSON line per request, with the usage read from the upstream answer', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'fast', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'count me' }] })
      .withResponse();
    const id = response.headers.get('x-request-id');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const line = gateway
      .output()
      .stdout.split('\n')
      .find((text) => text.includes(`"request_id":"${id}"`));
    const entry = JSON.parse(line ?? '{}') as {
      usage?: { prompt_tokens: number; total_tokens: number };
      streaming?: boolean;
      status?: number;
    };
    expect(entry.status).toBe(200);
    expect(entry.streaming).toBe(true);
    expect(entry.usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it('streams tool calls whose ids, names and arguments the SDK stream helper reassembles', async () => {
    const runner = client.chat.completions.stream({
      model: 'fast',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
          },
        },
      ],
    });
    const completion = await runner.finalChatCompletion();
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.id).toMatch(/^call_\w{24}$/);
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toHaveProperty('location');
  });

  it('returns embeddings as floats and as base64', async () => {
    const floats = await client.embeddings.create({ model: 'embed', input: ['alpha', 'beta'], encoding_format: 'float' });
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0]?.embedding.every((value) => typeof value === 'number')).toBe(true);

    // Asked for explicitly, base64 comes back as a string: little-endian float32s of the same vector.
    const encoded = await client.embeddings.create({ model: 'embed', input: ['alpha', 'beta'], encoding_format: 'base64' });
    expect(lastRequest()?.body).toMatchObject({ encoding_format: 'base64' });
    const text = encoded.data[0]?.embedding as unknown as string;
    expect(typeof text).toBe('string');
    const bytes = Buffer.from(text, 'base64');
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    expect(decoded).toEqual(floats.data[0]?.embedding.map((value) => Math.fround(value)));

    // Left to its default, the SDK asks for base64 and decodes it back to the same floats.
    const byDefault = await client.embeddings.create({ model: 'embed', input: 'alpha' });
    expect(lastRequest()?.body).toMatchObject({ encoding_format: 'base64' });
    expect(byDefault.data[0]?.embedding).toEqual(decoded);
  });

  it('lists the configured models', async () => {
    const page = await client.models.list();
    expect(page.data.map((model) => model.id).toSorted()).toEqual(['embed', 'fast']);
    expect(page.data.every((model) => model.owned_by === 'openai')).toBe(true);
  });

  it('relays an upstream 429 with its status, message and retry-after', async () => {
    const error = await client.chat.completions
      .create({ model: `openai/${FAKE_MODELS.rateLimited}`, messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(429);
    expect(apiError.message).toMatch(/rate limit/i);
    expect(apiError.headers?.get('retry-after')).toBe('1');
  });

  it('relays an upstream 500 with its status and message', async () => {
    const error = await client.chat.completions
      .create({ model: `openai/${FAKE_MODELS.serverError}`, messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(500);
  });

  it('answers 502 in the OpenAI error shape when the upstream drops the connection', async () => {
    const error = await client.chat.completions
      .create({ model: `openai/${FAKE_MODELS.connectionReset}`, messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_unreachable');
  });

  it('answers an unknown model with 404 listing close matches', async () => {
    const error = await client.chat.completions
      .create({ model: 'fsat', messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as Error).message).toContain('fast');
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found');
  });
});
