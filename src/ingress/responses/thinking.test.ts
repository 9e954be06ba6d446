import { describe, expect, it } from 'vitest';
import type { ChatChunk } from '../chat-answer.ts';
import { inputItems, newId, toChatMessages, type Item } from './items.ts';
import { parseCreateResponse } from './request.ts';
import { newResponseState } from './response.ts';
import { ResponsesAnswer } from './stream.ts';
import { isGatewayReasoning, sealThinkingBlocks, thinkingBlocksOfItem } from './thinking.ts';

const signed = { type: 'thinking', thinking: 'Let me look it up.', signature: 'sig-1' } as const;
const redacted = { type: 'redacted_thinking', data: 'opaque' } as const;
const request = parseCreateResponse({ model: 'claude', input: 'Weather in Paris?', reasoning: { effort: 'medium' } });
const call: Item = { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' };
const toolOutput: Item = { type: 'function_call_output', call_id: 'call_1', output: 'sunny' };
const user: Item = { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] };
const reasoning = (encrypted: unknown): Item => ({ type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: encrypted });

describe('the reasoning items OpenAI’s Responses API would refuse', () => {
  it('are the gateway’s, by id or by Claude’s sealed blocks; OpenAI’s own are not', () => {
    const openAIs: Item = { type: 'reasoning', id: 'rs_68af4030baa48193b0b43b4c2a176a1a05438e46b5f69a3b', summary: [] };
    expect(isGatewayReasoning(openAIs)).toBe(false);
    expect(isGatewayReasoning({ ...openAIs, encrypted_content: 'gAAAAABpF-openai' })).toBe(false);
    // DeepSeek's or Gemini's reasoning, as the gateway hands it out: its id, no encrypted content.
    const chats: Item = { type: 'reasoning', id: newId('rs'), summary: [], content: [{ type: 'reasoning_text', text: 'Hmm.' }] };
    expect(isGatewayReasoning(chats)).toBe(true);
    expect(isGatewayReasoning({ ...openAIs, id: newId('rs'), encrypted_content: sealThinkingBlocks([signed]) })).toBe(true);
    expect(isGatewayReasoning({ type: 'message', id: newId('rs'), role: 'user', content: 'hi' })).toBe(false);
  });
});

describe('Claude’s thinking blocks in a reasoning item’s encrypted_content', () => {
  it('go in and come out as they were, and only from the gateway’s own items', () => {
    const sealed = sealThinkingBlocks([signed, redacted]);
    expect(thinkingBlocksOfItem(reasoning(sealed))).toEqual([signed, redacted]);
    expect(isGatewayReasoning(reasoning(sealed))).toBe(true);
    // OpenAI's own encrypted reasoning, or none: nothing of Claude's.
    expect(thinkingBlocksOfItem(reasoning('gAAAAABpF-openai'))).toEqual([]);
    expect(isGatewayReasoning(reasoning('gAAAAABpF-openai'))).toBe(false);
    expect(thinkingBlocksOfItem(reasoning(null))).toEqual([]);
    expect(isGatewayReasoning(reasoning(null))).toBe(false);
    // Altered out of shape: carries nothing (Claude checks the signature of what is still a block).
    expect(thinkingBlocksOfItem(reasoning(`${sealed.slice(0, 30)}%%%`))).toEqual([]);
  });

  it('become the thinking_blocks of the assistant turn after the item, its text or its calls', () => {
    const sealed = reasoning(sealThinkingBlocks([signed]));
    expect(toChatMessages([user, sealed, call, toolOutput])).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
      { role: 'assistant', content: null, tool_calls: [expect.objectContaining({ id: 'call_1' })], thinking_blocks: [signed] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ]);
    const text: Item = { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Looking.' }] };
    expect(toChatMessages([user, sealed, text, call, toolOutput])[1]).toMatchObject({
      role: 'assistant',
      content: 'Looking.',
      tool_calls: [{ id: 'call_1' }],
      thinking_blocks: [signed],
    });
    // Between an assistant message and its calls, they join that turn.
    expect(toChatMessages([user, text, sealed, call, toolOutput])[1]).toMatchObject({ thinking_blocks: [signed] });
  });

  it('are not carried past a turn of the caller’s, and other reasoning items give none', () => {
    const sealed = reasoning(sealThinkingBlocks([signed]));
    const messages = toChatMessages([user, sealed, user, call, toolOutput]);
    expect(messages[2]).not.toHaveProperty('thinking_blocks');
    expect(toChatMessages([user, reasoning('gAAAAABpF-openai'), call, toolOutput])[1]).not.toHaveProperty('thinking_blocks');
    expect(toChatMessages(inputItems([{ type: 'reasoning', summary: [] }, call, toolOutput]))[0]).not.toHaveProperty('thinking_blocks');
  });
});

describe('the Responses answer of a Claude turn with thinking', () => {
  const writer = (): { answer: ResponsesAnswer; done: () => Record<string, unknown> } => {
    let response: Record<string, unknown> = {};
    const answer = new ResponsesAnswer(request, newResponseState('claude'), (whole) => (response = whole));
    return { answer, done: () => response };
  };

  it('carries the answer’s thinking_blocks in its reasoning item', () => {
    const { answer } = writer();
    const response = answer.completion({
      choices: [
        {
          message: { content: null, reasoning_content: signed.thinking, thinking_blocks: [signed], tool_calls: [] },
          finish_reason: 'tool_calls',
        } as never,
      ],
    }) as { output: Item[] };
    expect(response.output[0]).toMatchObject({ type: 'reasoning', content: [{ type: 'reasoning_text', text: signed.thinking }] });
    expect(thinkingBlocksOfItem(response.output[0] as Item)).toEqual([signed]);
  });

  it('streams them with the reasoning item they follow, and a redacted block alone in one of its own', () => {
    const { answer, done } = writer();
    const chunk = (delta: Record<string, unknown>, finish: string | null = null): string =>
      answer.chunk({ model: 'claude', choices: [{ index: 0, delta, finish_reason: finish }] } as ChatChunk);
    let events = chunk({ role: 'assistant', reasoning_content: 'Let me ' });
    events += chunk({ reasoning_content: 'look it up.' });
    events += chunk({ thinking_blocks: [signed] });
    events += chunk({ content: 'Sunny.' });
    events += chunk({ thinking_blocks: [redacted] });
    events += chunk({}, 'stop');
    events += answer.end();
    const output = done()['output'] as Item[];
    expect(output.map((item) => item['type'])).toEqual(['reasoning', 'message', 'reasoning']);
    expect(thinkingBlocksOfItem(output[0] as Item)).toEqual([signed]);
    expect(thinkingBlocksOfItem(output[2] as Item)).toEqual([redacted]);
    const itemsDone = events
      .split('\n\n')
      .filter((event) => event.startsWith('event: response.output_item.done'))
      .map((event) => (JSON.parse(event.slice(event.indexOf('data: ') + 6)) as { item: Item }).item);
    expect(itemsDone.map((item) => item['encrypted_content'])).toEqual([
      output[0]?.['encrypted_content'],
      undefined,
      output[2]?.['encrypted_content'],
    ]);
  });
});
