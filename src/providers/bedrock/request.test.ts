import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../server/errors.ts';
import { toAnthropicRequest } from '../anthropic/request.ts';
import type { ChatMessage, ChatRequest } from '../types.ts';
import { toConverseRequest } from './request.ts';

const CLAUDE = 'us.anthropic.claude-sonnet-4-20250514-v1:0';
const converse = (extra: Partial<ChatRequest>, model = CLAUDE): Record<string, unknown> =>
  toConverseRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra } as ChatRequest, model);

describe('extended thinking for Claude on Bedrock', () => {
  it('turns reasoning_effort into the thinking budget the Anthropic provider would send, in additionalModelRequestFields', () => {
    for (const effort of ['minimal', 'low', 'medium', 'high']) {
      const anthropic = toAnthropicRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }], reasoning_effort: effort }, 'claude');
      const bedrock = converse({ reasoning_effort: effort });
      expect(bedrock['additionalModelRequestFields']).toEqual({ thinking: anthropic['thinking'] });
      // With no limit of the caller's, the answer gets the room Anthropic's max_tokens would give it.
      expect(bedrock['inferenceConfig']).toEqual({ maxTokens: anthropic['max_tokens'] });
    }
    expect(converse({ reasoning_effort: 'low' })['additionalModelRequestFields']).toEqual({
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
    expect(converse({ reasoning_effort: 'high' })).toMatchObject({
      additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 24_576 } },
      inferenceConfig: { maxTokens: 25_600 },
    });
  });

  it('keeps the caller’s own max tokens, and sends no thinking for an effort that has none', () => {
    expect(converse({ reasoning_effort: 'medium', max_completion_tokens: 9000 })['inferenceConfig']).toEqual({ maxTokens: 9000 });
    for (const effort of ['none', 'constructor', 'toString'])
      expect(converse({ reasoning_effort: effort })).not.toHaveProperty('additionalModelRequestFields');
    expect(converse({ reasoning_effort: 'none' })).not.toHaveProperty('inferenceConfig');
  });

  it('sends Anthropic’s own thinking object (a Messages caller’s, with its exact budget) as it is, before any effort', () => {
    const thinking = { type: 'enabled', budget_tokens: 3000 };
    expect(converse({ thinking, reasoning_effort: 'medium' })).toMatchObject({
      additionalModelRequestFields: { thinking },
      inferenceConfig: { maxTokens: 4096 },
    });
    expect(converse({ thinking, reasoning_effort: 'medium', max_tokens: 3500 })['inferenceConfig']).toEqual({ maxTokens: 3500 });
    expect(converse({ thinking: { type: 'enabled', budget_tokens: 10_000 } })['inferenceConfig']).toEqual({ maxTokens: 11_024 });
    expect(converse({ thinking: { type: 'adaptive' } })).toEqual(
      expect.objectContaining({ additionalModelRequestFields: { thinking: { type: 'adaptive' } } }),
    );
    expect(converse({ thinking: { type: 'adaptive' } })).not.toHaveProperty('inferenceConfig');
    expect(() => converse({ thinking: 'on' })).toThrow(GatewayError);
  });

  it('sends top_k and temperature along with thinking, as the Anthropic provider does (Bedrock judges them)', () => {
    expect(converse({ reasoning_effort: 'low', top_k: 5, temperature: 0.5 })).toMatchObject({
      additionalModelRequestFields: { top_k: 5, thinking: { type: 'enabled', budget_tokens: 2048 } },
      inferenceConfig: { temperature: 0.5, maxTokens: 4096 },
    });
  });

  it('refuses thinking for models other than Claude, naming the field', () => {
    for (const field of [{ reasoning_effort: 'low' }, { thinking: { type: 'enabled', budget_tokens: 2048 } }])
      expect(() => converse(field, 'meta.llama3-70b-instruct-v1:0')).toThrow(
        expect.objectContaining({ code: 'unsupported_parameter', param: Object.keys(field)[0] }) as Error,
      );
  });
});

describe('thinking blocks sent back to Claude on Bedrock', () => {
  const signed = { type: 'thinking', thinking: 'Weather needs the tool.', signature: 'c2lnbmVk' };
  const redacted = { type: 'redacted_thinking', data: 'ZW5jcnlwdGVk' };
  const history = (blocks: unknown[]): ChatMessage[] => [
    { role: 'user', content: 'Weather in Paris?' },
    {
      role: 'assistant',
      content: 'Let me look.',
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
      thinking_blocks: blocks,
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
  ];
  const assistantTurn = (blocks: unknown[], model = CLAUDE): unknown[] =>
    (converse({ messages: history(blocks), reasoning_effort: 'low' }, model)['messages'] as { content: unknown[] }[])[1]?.content ?? [];

  it('go first in the assistant turn, as reasoningContent: signed text, or the redacted bytes', () => {
    expect(assistantTurn([signed, redacted])).toEqual([
      { reasoningContent: { reasoningText: { text: signed.thinking, signature: signed.signature } } },
      { reasoningContent: { redactedContent: redacted.data } },
      { text: 'Let me look.' },
      { toolUse: { toolUseId: 'call_1', name: 'weather', input: { city: 'Paris' } } },
    ]);
  });

  it('are left out when they cannot be sent back (no signature, an unknown shape) and for other models', () => {
    expect(
      assistantTurn([{ type: 'thinking', thinking: 'unsigned' }, { ...signed, signature: '' }, { type: 'other' }, 'text']).map(
        (block) => Object.keys(block as object)[0],
      ),
    ).toEqual(['text', 'toolUse']);
    const llama = (converse({ messages: history([signed]) }, 'meta.llama3-70b-instruct-v1:0')['messages'] as { content: unknown[] }[])[1];
    expect(llama?.content.map((block) => Object.keys(block as object)[0])).toEqual(['text', 'toolUse']);
  });
});
