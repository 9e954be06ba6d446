import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngressSetup, type IngressSetup } from './upstreams.ts';

let setup: IngressSetup;
let client: OpenAI;

beforeAll(async () => {
  setup = await startIngressSetup();
  client = new OpenAI({ baseURL: `${setup.gateway.url}/v1`, apiKey: 'caller-key', maxRetries: 0 });
});

afterAll(() => setup?.stop());

/** Relayed where the provider has the completions API, adapted over chat where it has not. */
describe.each([
  { name: 'OpenAI (relayed)', model: 'openai/gpt-3.5-turbo-instruct' },
  { name: 'an Anthropic upstream (adapted over chat)', model: 'claude/m-text' },
])('legacy completions to $name', ({ model }) => {
  it('answers a text completion with usage', async () => {
    const completion = await client.completions.create({ model, prompt: 'say this', max_tokens: 30 });
    expect(completion.object).toBe('text_completion');
    expect(completion.choices).toEqual([{ text: 'You said: say this', index: 0, logprobs: null, finish_reason: 'stop' }]);
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0));
  });

  it('streams text_completion chunks, a usage chunk when asked, then [DONE]', async () => {
    const stream = await client.completions.create({ model, prompt: 'stream this', stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('text_completion');
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('You said: stream this');
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });
});

describe('legacy completions through the gateway', () => {
  it('relays the request to OpenAI as sent, but for the model', async () => {
    await client.completions.create({ model: 'openai/gpt-3.5-turbo-instruct', prompt: 'as is', max_tokens: 7, temperature: 0 });
    expect(setup.openaiFake.requests.at(-1)).toMatchObject({
      path: '/v1/completions',
      body: { model: 'gpt-3.5-turbo-instruct', prompt: 'as is', max_tokens: 7, temperature: 0 },
    });
  });

  it('passes OpenAI’s refusal of a chat model on, as OpenAI words it', async () => {
    await expect(client.completions.create({ model: 'openai/gpt-4o', prompt: 'x' })).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining('not supported in the v1/completions endpoint') as unknown,
    });
  });

  it('echoes the prompt over chat, and sends the chat upstream one user message', async () => {
    const completion = await client.completions.create({ model: 'claude/m-text', prompt: 'echo me', echo: true, max_tokens: 20 });
    expect(completion.choices[0]?.text).toBe('echo meYou said: echo me');
    expect(setup.anthropicFake.requests.at(-1)?.body).toMatchObject({
      max_tokens: 20,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'echo me' }] }],
    });
  });

  it('refuses what chat cannot do (several prompts, logprobs) with a 400 naming the field', async () => {
    await expect(client.completions.create({ model: 'claude/m-text', prompt: ['a', 'b'] })).rejects.toMatchObject({
      status: 400,
      param: 'prompt',
    });
    await expect(client.completions.create({ model: 'claude/m-text', prompt: 'a', logprobs: 2 })).rejects.toMatchObject({
      status: 400,
      param: 'logprobs',
    });
  });
});
