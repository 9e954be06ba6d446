import { describe, expect, it } from 'vitest';
import { estimateChatTokens, loadTokenCounter } from '../../limits/tokens.ts';
import { GatewayError } from '../../server/errors.ts';
import { chatOrRefusal } from '../relay.ts';
import { DROPPABLE, parseMessagesRequest, toChatRequest, toChatView } from './request.ts';

describe('the chat view of a Messages request', async () => {
  const count = await loadTokenCounter();
  const estimate = (body: object) => {
    const request = parseMessagesRequest({ model: 'claude', max_tokens: 300, ...body });
    return estimateChatTokens(toChatView(request), count);
  };

  it('is estimated as the chat request it would become', () => {
    const request = parseMessagesRequest({
      model: 'claude',
      max_tokens: 300,
      system: [{ type: 'text', text: 'Be brief.' }],
      metadata: { user_id: 'alice' },
      tools: [{ name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny, 21°C' }] },
      ],
    });
    const view = toChatView(request);
    const chat = toChatRequest(request);
    expect(view).toMatchObject({ model: 'claude', max_completion_tokens: 300, user: 'alice', tools: chat.tools });
    const viewed = estimateChatTokens(view, count);
    const translated = estimateChatTokens(chat, count);
    expect(Math.abs(viewed - translated)).toBeLessThan(10);
  });

  it('counts what cannot be translated: a text document by its text, other blocks at a fixed amount', () => {
    const question = { type: 'text', text: 'What does it say?' };
    const policy = 'Every purchase may be returned within thirty days of delivery. '.repeat(20);
    const document = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: policy } };
    const pdf = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQK' } };
    const plain = estimate({ messages: [{ role: 'user', content: [question] }] });
    expect(
      chatOrRefusal(() =>
        toChatRequest(parseMessagesRequest({ model: 'c', max_tokens: 1, messages: [{ role: 'user', content: [document] }] })),
      ),
    ).toBeInstanceOf(GatewayError);
    expect(estimate({ messages: [{ role: 'user', content: [document, question] }] })).toBe(plain + count(policy));
    expect(estimate({ messages: [{ role: 'user', content: [pdf, question] }] })).toBe(plain + 85);
    expect(estimate({ foo: 1, messages: [{ role: 'user', content: [question] }] })).toBe(plain);
    // Thinking is dropped over chat and in the view alike; a tool result's blocks count by their text.
    const thinking = { type: 'thinking', thinking: 'Let me see. '.repeat(50), signature: 'sig' };
    const result = { type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: policy }] };
    const conversation = estimate({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [thinking, { type: 'tool_use', id: 't', name: 'lookup', input: {} }] },
        { role: 'user', content: [result, document] },
      ],
    });
    expect(conversation).toBeGreaterThan(300 + 2 * count(policy));
    expect(conversation).toBeLessThan(300 + 2 * count(policy) + 60);
  });
});

describe('a Messages request’s thinking, as the chat request', () => {
  const signed = { type: 'thinking', thinking: 'Weather needs the tool.', signature: 'c2lnbmVk' };
  const redacted = { type: 'redacted_thinking', data: 'ZW5jcnlwdGVk' };
  const chat = (body: object) =>
    toChatRequest(parseMessagesRequest({ model: 'claude', max_tokens: 8000, messages: [{ role: 'user', content: 'hi' }], ...body }));

  it('carries the exact budget beside its effort level, for a provider that takes it (Claude on Bedrock); both may be dropped', () => {
    expect(chat({ thinking: { type: 'enabled', budget_tokens: 3000 } })).toMatchObject({
      reasoning_effort: 'medium',
      thinking: { type: 'enabled', budget_tokens: 3000 },
    });
    expect(chat({ thinking: { type: 'adaptive' } })).toMatchObject({ thinking: { type: 'adaptive' } });
    expect(chat({ thinking: { type: 'disabled' } })).not.toHaveProperty('thinking');
    expect(chat({})).not.toHaveProperty('thinking');
    expect([...DROPPABLE].toSorted()).toEqual(['reasoning_effort', 'thinking', 'thinking_blocks', 'top_k']);
  });

  it('hands an earlier turn’s signed thinking blocks back as the assistant message’s thinking_blocks', () => {
    const request = chat({
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            signed,
            redacted,
            { type: 'thinking', thinking: 'unsigned', signature: '' },
            { type: 'tool_use', id: 'toolu_1', name: 'weather', input: {} },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }] },
      ],
    });
    expect(request.messages[1]).toMatchObject({ role: 'assistant', content: null, thinking_blocks: [signed, redacted] });
    const plain = chat({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello.' }] },
        { role: 'user', content: 'again' },
      ],
    });
    expect(plain.messages[1]).toEqual({ role: 'assistant', content: 'Hello.' });
  });
});
