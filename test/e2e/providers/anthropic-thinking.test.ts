import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_KEY, anthropicDialect } from '../../fakes/providers/anthropic.ts';
import { startFakeProvider, type FakeProvider } from '../../fakes/providers/harness.ts';
import { apiErrorOf } from '../../support/api-error.ts';
import { startGateway, type GatewayProcess } from '../../support/gateway-process.ts';
import { readThinkingStream, weatherFollowUp, weatherQuestion, type ThinkingBlock } from '../../support/thinking-stream.ts';

const weather: ChatCompletionTool = {
  type: 'function',
  function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

let fake: FakeProvider;
let gateway: GatewayProcess;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeProvider(anthropicDialect, '/v1');
  gateway = await startGateway({
    config: `providers:\n  claude: { type: anthropic, base_url: "${fake.url}", api_key: ${ANTHROPIC_KEY} }\n`,
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'caller', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await fake?.close();
});

const question = weatherQuestion;

/** A turn with the weather tool offered and thinking on (reasoning_effort low: a 2048-token budget). */
const turn = (messages: ChatCompletionMessageParam[]) =>
  client.chat.completions.create({ model: 'claude/claude-sonnet-4-5', messages, tools: [weather], reasoning_effort: 'low' });

const followUp = weatherFollowUp;

describe('Anthropic extended thinking through the gateway', () => {
  it('returns signed thinking blocks with the tool call, and accepts them back on the tool turn', async () => {
    const first = await turn([question]);
    const message = first.choices[0]?.message as OpenAI.ChatCompletionMessage & {
      thinking_blocks?: ThinkingBlock[];
      reasoning_content?: string;
    };
    expect(message.reasoning_content).toBe('The user wants a short answer; a tool may help.');
    expect(message.thinking_blocks).toEqual([
      { type: 'thinking', thinking: 'The user wants a short answer; a tool may help.', signature: expect.any(String) as string },
    ]);
    const upstream = fake.requests.at(-1)?.body as { thinking: unknown };
    expect(upstream.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });

    const toolCallId = message.tool_calls?.[0]?.id ?? '';
    const answer = await turn(followUp(toolCallId, message.thinking_blocks));
    expect(answer.choices[0]?.message.content).toBe('Tool results: sunny, 21°C');
    const sent = fake.requests.at(-1)?.body as { messages: { role: string; content: { type: string }[] }[] };
    expect(sent.messages[1]?.content.map((block) => block.type)).toEqual(['thinking', 'tool_use']);
  });

  it('answers without thinking when the thinking blocks are left out, and passes on Anthropic’s 400 when they are altered', async () => {
    const first = await turn([question]);
    const message = first.choices[0]?.message as OpenAI.ChatCompletionMessage & { thinking_blocks?: ThinkingBlock[] };
    const toolCallId = message.tool_calls?.[0]?.id ?? '';
    const ask = (blocks: ThinkingBlock[] | undefined) =>
      client.chat.completions.create({
        model: 'claude/claude-sonnet-4-5',
        messages: followUp(toolCallId, blocks),
        tools: [weather],
        reasoning_effort: 'low',
      });
    // Anthropic would refuse the turn with thinking on: it is asked without.
    const missing = await ask(undefined);
    expect(missing.choices[0]?.message.content).toBe('Tool results: sunny, 21°C');
    expect(fake.requests.at(-1)?.body).not.toHaveProperty('thinking');
    const altered = await apiErrorOf(ask([{ ...message.thinking_blocks?.[0], thinking: 'something else' } as ThinkingBlock]));
    expect(altered?.status).toBe(400);
    expect(altered?.message).toContain('Invalid `signature`');
  });

  it('streams reasoning as deltas and each thinking block whole, which the caller can send back', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude/claude-sonnet-4-5',
      messages: [question],
      tools: [weather],
      reasoning_effort: 'low',
      stream: true,
    });
    const { reasoning, blocks, toolCallId } = await readThinkingStream(stream);
    expect(reasoning).toBe('The user wants a short answer; a tool may help.');
    expect(blocks).toEqual([{ type: 'thinking', thinking: reasoning, signature: expect.any(String) as string }]);
    const answer = await turn(followUp(toolCallId, blocks));
    expect(answer.choices[0]?.message.content).toBe('Tool results: sunny, 21°C');
  });
});
