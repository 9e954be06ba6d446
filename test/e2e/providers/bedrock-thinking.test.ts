import Anthropic from '@anthropic-ai/sdk';
import type { ContentBlock, MessageParam, Tool } from '@anthropic-ai/sdk/resources/messages';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_KEYS, AWS_REGION, bedrockDialect, REDACTED_REASONING } from '../../fakes/providers/bedrock.ts';
import { startFakeProvider, type FakeProvider } from '../../fakes/providers/harness.ts';
import { apiErrorOf } from '../../support/api-error.ts';
import { startGateway, type GatewayProcess } from '../../support/gateway-process.ts';
import { readThinkingStream, weatherFollowUp, weatherQuestion, type ThinkingBlock } from '../../support/thinking-stream.ts';

/** Claude's extended thinking on Bedrock, asked for by an OpenAI chat caller (`reasoning_effort`) or a Messages caller (`thinking`). */

const CLAUDE = 'br/us.anthropic.claude-sonnet-4-20250514-v1:0';
/** The fake answers this one with a redacted reasoning block after the signed one. */
const REDACTING = 'br/us.anthropic.claude-sonnet-4-fake-redacted-v1:0';
const THOUGHT = 'The user wants a short answer; a tool may help.';

type ThinkingMessage = OpenAI.ChatCompletionMessage & { thinking_blocks?: ThinkingBlock[]; reasoning_content?: string };

const weather: ChatCompletionTool = {
  type: 'function',
  function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const weatherTool: Tool = {
  name: 'weather',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

let fake: FakeProvider;
let gateway: GatewayProcess;
let client: OpenAI;
let messages: Anthropic;

beforeAll(async () => {
  fake = await startFakeProvider(bedrockDialect());
  gateway = await startGateway({
    config: `providers:
  br:
    type: bedrock
    base_url: ${fake.url}
    region: ${AWS_REGION}
    access_key_id: ${AWS_KEYS.accessKeyId}
    secret_access_key: ${AWS_KEYS.secretAccessKey}
`,
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'caller', maxRetries: 0 });
  messages = new Anthropic({ baseURL: gateway.url, apiKey: 'caller', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await fake?.close();
});

/** The Converse body the fake received last. */
const sent = (): Record<string, unknown> => fake.requests.at(-1)?.body as Record<string, unknown>;
/** The kinds of the content blocks of the Converse message at `index` of the last request. */
const blockKinds = (index: number): string[] =>
  ((sent()['messages'] as { content: Record<string, unknown>[] }[])[index]?.content ?? []).map((block) => Object.keys(block)[0] ?? '');

const question = weatherQuestion;

const followUp = weatherFollowUp;

describe('Claude on Bedrock thinks when an OpenAI chat caller asks with reasoning_effort', () => {
  it('sends the effort as a thinking budget in additionalModelRequestFields (the Anthropic provider’s budgets), with room for it in maxTokens', async () => {
    for (const [effort, budget, maxTokens] of [
      ['low', 2048, 4096],
      ['medium', 8192, 9216],
      ['high', 24_576, 25_600],
    ] as const) {
      const answer = await client.chat.completions.create({
        model: CLAUDE,
        messages: [{ role: 'user', content: 'hi' }],
        reasoning_effort: effort,
      });
      const message = answer.choices[0]?.message as ThinkingMessage;
      expect(message.content).toBe('You said: hi');
      expect(message.reasoning_content).toBe(THOUGHT);
      expect(message.thinking_blocks).toEqual([{ type: 'thinking', thinking: THOUGHT, signature: expect.any(String) as string }]);
      expect(sent()).toMatchObject({
        additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: budget } },
        inferenceConfig: { maxTokens },
      });
    }
    // The caller's own limit stands.
    await client.chat.completions.create({
      model: CLAUDE,
      messages: [{ role: 'user', content: 'hi' }],
      reasoning_effort: 'low',
      max_completion_tokens: 3000,
    });
    expect(sent()).toMatchObject({ inferenceConfig: { maxTokens: 3000 } });
    // No effort, no thinking (and no maxTokens the caller did not ask for).
    await client.chat.completions.create({ model: CLAUDE, messages: [{ role: 'user', content: 'hi' }] });
    expect(sent()).not.toHaveProperty('additionalModelRequestFields');
    expect(sent()).not.toHaveProperty('inferenceConfig');
  });

  it('returns signed thinking blocks with the tool call, and sends them back as reasoningContent on the tool turn', async () => {
    const turn = (history: ChatCompletionMessageParam[]) =>
      client.chat.completions.create({ model: CLAUDE, messages: history, tools: [weather], reasoning_effort: 'low' });
    const first = await turn([question]);
    const message = first.choices[0]?.message as ThinkingMessage;
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(message.thinking_blocks).toEqual([{ type: 'thinking', thinking: THOUGHT, signature: expect.any(String) as string }]);
    const toolCallId = message.tool_calls?.[0]?.id ?? '';

    const answer = await turn(followUp(toolCallId, message.thinking_blocks));
    expect(answer.choices[0]?.message.content).toBe('Tool results: sunny, 21°C');
    expect(blockKinds(1)).toEqual(['reasoningContent', 'toolUse']);
    expect((sent()['messages'] as { content: unknown[] }[])[1]?.content[0]).toEqual({
      reasoningContent: { reasoningText: { text: THOUGHT, signature: message.thinking_blocks?.[0]?.signature } },
    });

    // Left out, Claude would refuse the turn with thinking on: it is asked without, as on Anthropic.
    const missing = await turn(followUp(toolCallId, undefined));
    expect(missing.choices[0]?.message.content).toBe('Tool results: sunny, 21°C');
    expect(sent()).not.toHaveProperty('additionalModelRequestFields');
    // Altered, Bedrock refuses the turn, as Anthropic does; the gateway passes its 400 on.
    const altered = await apiErrorOf(
      turn(followUp(toolCallId, [{ ...message.thinking_blocks?.[0], thinking: 'something else' } as ThinkingBlock])),
    );
    expect(altered?.status).toBe(400);
    expect(altered?.message).toContain('Invalid `signature`');
  });

  it('streams reasoning as deltas and each block whole once it ends, redacted ones too, which go back as they came', async () => {
    const stream = await client.chat.completions.create({
      model: REDACTING,
      messages: [question],
      tools: [weather],
      reasoning_effort: 'low',
      stream: true,
    });
    const { reasoning, blocks, toolCallId } = await readThinkingStream(stream);
    expect(reasoning).toBe(THOUGHT);
    expect(blocks).toEqual([
      { type: 'thinking', thinking: THOUGHT, signature: expect.any(String) as string },
      { type: 'redacted_thinking', data: REDACTED_REASONING },
    ]);
    const answer = await client.chat.completions.create({
      model: REDACTING,
      messages: followUp(toolCallId, blocks),
      tools: [weather],
      reasoning_effort: 'low',
    });
    expect(answer.choices[0]?.message.content).toBe('Tool results: sunny, 21°C');
    expect(blockKinds(1)).toEqual(['reasoningContent', 'reasoningContent', 'toolUse']);
  });

  it('sends temperature and top_k as the Anthropic provider does, and passes on Bedrock’s refusal of them with thinking on', async () => {
    const ask = (extra: Record<string, unknown>) =>
      client.chat.completions.create({
        model: CLAUDE,
        messages: [{ role: 'user', content: 'hi' }],
        reasoning_effort: 'low',
        ...extra,
      } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const warm = await apiErrorOf(ask({ temperature: 0.5 }));
    expect(warm?.status).toBe(400);
    expect(warm?.message).toContain('`temperature` may only be set to 1 when thinking is enabled');
    const narrow = await apiErrorOf(ask({ top_k: 5 }));
    expect(narrow?.status).toBe(400);
    expect(narrow?.message).toContain('`top_k` must be unset when thinking is enabled');
    expect((await ask({ temperature: 1 })).choices[0]?.message.content).toBe('You said: hi');
  });
});

describe('Claude on Bedrock thinks when a Messages caller asks with thinking', () => {
  const ask = (model: string, history: MessageParam[]) => ({
    model,
    max_tokens: 8000,
    thinking: { type: 'enabled' as const, budget_tokens: 3000 },
    tools: [weatherTool],
    messages: history,
  });
  const first: MessageParam = { role: 'user', content: 'What is the weather in Paris?' };
  const toolTurn = (content: ContentBlock[]): MessageParam[] => {
    const use = content.find((block) => block.type === 'tool_use');
    return [
      first,
      { role: 'assistant', content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use?.id ?? '', content: 'sunny, 21°C' }] },
    ];
  };

  it('sends the exact budget, answers with signed thinking blocks, and takes them back on the tool turn', async () => {
    const message = await messages.messages.create(ask(CLAUDE, [first]));
    expect(sent()).toMatchObject({
      additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 3000 } },
      inferenceConfig: { maxTokens: 8000 },
    });
    expect(message.content.map((block) => block.type)).toEqual(['thinking', 'tool_use']);
    expect(message.content[0]).toEqual({ type: 'thinking', thinking: THOUGHT, signature: expect.stringMatching(/.+/) as string });

    const answer = await messages.messages.create(ask(CLAUDE, toolTurn(message.content)));
    expect(answer.content.at(-1)).toEqual({ type: 'text', text: 'Tool results: sunny, 21°C' });
    expect(blockKinds(1)).toEqual(['reasoningContent', 'toolUse']);
  });

  it('streams thinking with its signature_delta and redacted blocks whole, so the SDK assembles blocks that go back as they came', async () => {
    const message = await messages.messages.stream(ask(REDACTING, [first])).finalMessage();
    expect(message.content.map((block) => block.type)).toEqual(['thinking', 'redacted_thinking', 'tool_use']);
    expect(message.content[0]).toEqual({ type: 'thinking', thinking: THOUGHT, signature: expect.stringMatching(/.+/) as string });
    expect(message.content[1]).toEqual({ type: 'redacted_thinking', data: REDACTED_REASONING });

    const answer = await messages.messages.stream(ask(REDACTING, toolTurn(message.content))).finalMessage();
    expect(answer.content.at(-1)).toEqual({ type: 'text', text: 'Tool results: sunny, 21°C' });
    expect(blockKinds(1)).toEqual(['reasoningContent', 'reasoningContent', 'toolUse']);
  });
});
