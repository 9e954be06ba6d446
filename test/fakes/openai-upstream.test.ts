import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddingVector } from './openai-embeddings.ts';
import { isJsonObject, loadOpenAIFixtures, readOpenAIChunks } from './openai-fixtures.ts';
import { startOpenAIUpstream, type OpenAIUpstream } from './openai-upstream.ts';

let upstream: OpenAIUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  client = new OpenAI({ baseURL: upstream.url, apiKey: 'sk-test-key', maxRetries: 0 });
});
afterAll(() => upstream.close());

const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};

/** Keys and value kinds, recursively; arrays by their first element. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shapeOf(value[0])];
  if (isJsonObject(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .toSorted()
        .map((key) => [key, shapeOf(value[key])]),
    );
  }
  return value === null ? 'null' : typeof value;
}

/** Shapes of a stream's first (role), second (content), finish and usage chunks. */
function roleContentFinishUsageShapes(chunks: unknown[]): unknown[] {
  return [chunks[0], chunks[1], chunks.at(-2), chunks.at(-1)].map(shapeOf);
}

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${upstream.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-key', ...headers },
    body: JSON.stringify(body),
  });
}

async function sseChunks(response: Response): Promise<unknown[]> {
  const text = await response.text();
  expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter((event) => event.startsWith('data: {'))
    .map((event) => JSON.parse(event.slice('data: '.length)) as unknown);
}

describe('fake OpenAI upstream', () => {
  it('answers a chat completion by echoing the last user message', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(completion.model).toBe('gpt-4o-mini');
    expect(completion.choices[0]?.message.content).toBe('You said: hello there');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const recorded = upstream.requests.at(-1);
    expect(recorded?.path).toBe('/v1/chat/completions');
    expect(recorded?.headers.authorization).toBe('Bearer sk-test-key');
    expect(recorded?.body).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });

    const fixtures = await loadOpenAIFixtures();
    expect(shapeOf(completion)).toEqual(shapeOf(fixtures.completion));
  });

  it('streams content chunks and a final usage chunk shaped like the recorded stream', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'stream me a few words' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('You said: stream me a few words');
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(3);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);

    const recorded = await readOpenAIChunks();
    const raw = await sseChunks(
      await post('/chat/completions', {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'a b c' }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    expect(roleContentFinishUsageShapes(raw)).toEqual(roleContentFinishUsageShapes(recorded));
  });

  it('streams a tool call that the SDK stream helper reassembles', async () => {
    const stream = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [weatherTool],
    });
    const deltas: OpenAI.ChatCompletionChunk.Choice.Delta[] = [];
    stream.on('chunk', (chunk) => {
      if (chunk.choices[0]) deltas.push(chunk.choices[0].delta);
    });
    const completion = await stream.finalChatCompletion();
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ location: 'Paris' });

    expect(deltas[0]?.tool_calls?.[0]).toMatchObject({ index: 0, id: call?.id, function: { arguments: '' } });
    const fragments = deltas.slice(1, -1).map((delta) => delta.tool_calls?.[0]);
    expect(fragments.length).toBeGreaterThan(2);
    for (const fragment of fragments) expect(Object.keys(fragment ?? {}).toSorted()).toEqual(['function', 'index']);
  });

  it('answers a tool result with text echoing it', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny, 21C' },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe('Tool result: sunny, 21C');
  });

  it('returns deterministic embeddings as floats and as little-endian float32 base64', async () => {
    const floats = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['first', 'second'],
      encoding_format: 'float',
    });
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    expect(floats.data[0]?.embedding).toEqual(Array.from(embeddingVector('first', 8)));
    expect(floats.usage.total_tokens).toBeGreaterThan(0);
    expect(shapeOf(floats)).toEqual(shapeOf((await loadOpenAIFixtures()).embeddingList));

    const encoded = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'first',
      encoding_format: 'base64',
    });
    const base64 = encoded.data[0]?.embedding as unknown as string;
    const bytes = Buffer.from(base64, 'base64');
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(decoded).toEqual(floats.data[0]?.embedding);

    // The SDK asks for base64 by default and decodes it itself.
    const byDefault = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'first' });
    expect(byDefault.data[0]?.embedding).toEqual(floats.data[0]?.embedding);
  });

  it('rejects an unknown top-level field like the real API, Anthropic’s top_k included', async () => {
    for (const field of ['provider', 'top_k']) {
      const response = await post('/chat/completions', {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        [field]: field === 'top_k' ? 5 : 'openai',
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: {
          message: `Unrecognized request argument supplied: ${field}`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      });
    }
  });

  it('fails like OpenAI for a missing key, a missing param, fake-429, fake-500 and fake-reset', async () => {
    const noKey = await post('/chat/completions', { model: 'm', messages: [] }, { authorization: '' });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ error: { code: 'invalid_api_key' } });

    const noMessages = await post('/chat/completions', { model: 'm' });
    expect(noMessages.status).toBe(400);
    expect(await noMessages.json()).toMatchObject({ error: { param: 'messages', type: 'invalid_request_error' } });

    const messages = [{ role: 'user' as const, content: 'hi' }];
    const limited = await client.chat.completions.create({ model: 'fake-429', messages }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    if (limited instanceof OpenAI.APIError) {
      expect(limited.headers?.get('retry-after')).toBe('1');
      expect(limited.code).toBe('rate_limit_exceeded');
      expect(limited.type).toBe('requests');
    }

    const failed = await client.chat.completions.create({ model: 'fake-500', messages }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);

    await expect(client.chat.completions.create({ model: 'fake-reset', messages })).rejects.toBeInstanceOf(OpenAI.APIConnectionError);

    const notFound = await post('/nope', {});
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ error: { message: 'Invalid URL (POST /v1/nope)' } });
  });

  it('runs as its own process that prints its URL and exits on SIGTERM', async () => {
    // Running .ts needs Node 24; vitest itself may have been started by an older system node.
    const repoNode = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
    const script = fileURLToPath(new URL('./openai-upstream-process.ts', import.meta.url));
    const child = spawn(existsSync(repoNode) ? repoNode : process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
      expect(line).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const models = await fetch(`${line.slice('listening on '.length)}/models`, { headers: { authorization: 'Bearer k' } });
      expect(models.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
