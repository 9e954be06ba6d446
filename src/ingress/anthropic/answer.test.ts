import { describe, expect, it } from 'vitest';
import type { ChatChunk, ChatCompletion } from '../chat-answer.ts';
import { AnthropicAnswer } from './answer.ts';

const THOUGHT = 'Weather needs the tool.';
const signed = { type: 'thinking', thinking: THOUGHT, signature: 'c2lnbmVk' };
const redacted = { type: 'redacted_thinking', data: 'ZW5jcnlwdGVk' };
const call = { id: 'tooluse_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } };

describe('a translated answer’s thinking, as Messages content', () => {
  it('is the signed blocks the provider gave (thinking_blocks), which the caller can send back', () => {
    const answer = {
      model: 'm',
      choices: [
        {
          message: { content: null, reasoning_content: THOUGHT, thinking_blocks: [signed, redacted], tool_calls: [call] },
          finish_reason: 'tool_calls',
        },
      ],
    } as unknown as ChatCompletion;
    expect((new AnthropicAnswer('m').completion(answer) as { content: unknown[] }).content).toEqual([
      signed,
      redacted,
      { type: 'tool_use', id: 'tooluse_1', name: 'weather', input: { city: 'Paris' } },
    ]);
  });

  it('is the reasoning text, unsigned, when the provider signs none', () => {
    const answer: ChatCompletion = { choices: [{ message: { content: 'Hi.', reasoning_content: THOUGHT }, finish_reason: 'stop' }] };
    expect((new AnthropicAnswer('m').completion(answer) as { content: unknown[] }).content).toEqual([
      { type: 'thinking', thinking: THOUGHT, signature: '' },
      { type: 'text', text: 'Hi.' },
    ]);
  });

  it('streams as Anthropic does: thinking deltas then a signature_delta, redacted blocks whole', () => {
    const writer = new AnthropicAnswer('m');
    const chunk = (delta: Record<string, unknown>, finish: string | null = null): ChatChunk =>
      ({ model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] }) as ChatChunk;
    const sse =
      [
        chunk({ role: 'assistant', content: '' }),
        chunk({ reasoning_content: 'Weather ' }),
        chunk({ reasoning_content: 'needs the tool.' }),
        chunk({ thinking_blocks: [signed] }),
        chunk({ thinking_blocks: [redacted] }),
        chunk({ tool_calls: [{ index: 0, ...call }] }),
        chunk({}, 'tool_calls'),
      ]
        .map((part) => writer.chunk(part))
        .join('') + writer.end();
    const events = sse
      .split('\n\n')
      .filter((event) => event.startsWith('event: '))
      .map((event) => JSON.parse(event.slice(event.indexOf('data: ') + 6)) as Record<string, unknown>)
      .filter((event) => event['type'] !== 'ping');
    expect(events.map((event) => [event['type'], event['index'], event['content_block'] ?? event['delta']])).toEqual([
      ['message_start', undefined, undefined],
      ['content_block_start', 0, { type: 'thinking', thinking: '', signature: '' }],
      ['content_block_delta', 0, { type: 'thinking_delta', thinking: 'Weather ' }],
      ['content_block_delta', 0, { type: 'thinking_delta', thinking: 'needs the tool.' }],
      ['content_block_delta', 0, { type: 'signature_delta', signature: signed.signature }],
      ['content_block_stop', 0, undefined],
      ['content_block_start', 1, redacted],
      ['content_block_stop', 1, undefined],
      ['content_block_start', 2, { type: 'tool_use', id: 'tooluse_1', name: 'weather', input: {} }],
      ['content_block_delta', 2, { type: 'input_json_delta', partial_json: '{"city":"Paris"}' }],
      ['content_block_stop', 2, undefined],
      ['message_delta', undefined, { stop_reason: 'tool_use', stop_sequence: null }],
      ['message_stop', undefined, undefined],
    ]);
  });

  it('streams a signed block whose text never came as deltas whole, text and signature', () => {
    const writer = new AnthropicAnswer('m');
    const out = writer.chunk({ choices: [{ delta: { thinking_blocks: [signed] } as Record<string, unknown> }] } as ChatChunk);
    expect(out).toContain('"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}');
    expect(out).toContain(`"delta":{"type":"thinking_delta","thinking":"${THOUGHT}"}`);
    expect(out).toContain(`"delta":{"type":"signature_delta","signature":"${signed.signature}"}`);
    expect(out).toContain('"type":"content_block_stop","index":0');
  });
});
