import { describe, expect, it } from 'vitest';
import type { ResponseSink } from '../providers/types.ts';
import { ClientStream } from './client-stream.ts';
import { endStreamAnswer } from './final-answer.ts';
import { StreamTurn } from './turn.ts';

function recordingSink(): { sink: ResponseSink; text: () => string } {
  let text = '';
  return {
    sink: { start: () => undefined, write: (chunk) => ((text += String(chunk)), true), onDrain: () => undefined, end: () => undefined },
    text: () => text,
  };
}

const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices, ...extra })}\n\n`;

describe('StreamTurn', () => {
  it('relays text deltas at once and holds tool calls, the finish reason and usage', () => {
    const { sink, text } = recordingSink();
    const client = new ClientStream(sink);
    const turn = new StreamTurn(client);
    const bytes = Buffer.from(
      event([{ index: 0, delta: { role: 'assistant', content: 'Let me ' }, finish_reason: null }]) +
        event([
          {
            index: 0,
            delta: { content: 'check.', tool_calls: [{ index: 0, id: 'call_1', function: { name: 'crm__find', arguments: '{"q"' } }] },
          },
        ]) +
        event([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: ':"é"}' } }] } }]) +
        event([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]) +
        event([], { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }) +
        'data: [DONE]\n\n',
    );
    // Split inside a multi-byte character and inside events.
    const cut = bytes.indexOf(Buffer.from('é')) + 1;
    turn.sink.write(bytes.subarray(0, cut));
    turn.sink.write(bytes.subarray(cut));
    turn.sink.end();
    expect(turn.result()).toEqual({
      content: 'Let me check.',
      toolCalls: [{ id: 'call_1', name: 'crm__find', arguments: '{"q":"é"}' }],
      finishReason: 'tool_calls',
      thinkingBlocks: [],
    });
    const relayed = text();
    expect(relayed).toContain('"content":"Let me "');
    expect(relayed).toContain('"content":"check."');
    expect(relayed).not.toContain('tool_calls');
    expect(relayed).not.toContain('usage');
  });

  it('ends a final answer with the calls the client gets back, summed usage and [DONE]', () => {
    const { sink, text } = recordingSink();
    const client = new ClientStream(sink);
    const turn = new StreamTurn(client);
    turn.sink.write(
      event([
        {
          index: 0,
          delta: {
            role: 'assistant',
            content: null,
            tool_calls: [{ index: 0, id: 'c', function: { name: 'get_weather', arguments: '{}' } }],
          },
        },
      ]),
    );
    turn.sink.write(event([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]));
    turn.sink.end();
    const result = turn.result();
    endStreamAnswer(
      client,
      turn,
      result,
      { usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 }, returned: result.toolCalls, rewrite: true },
      true,
    );
    const events = text()
      .split('\n\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    const parsed = events
      .slice(0, -1)
      .map((line) => JSON.parse(line) as { choices: { delta: Record<string, unknown>; finish_reason: string | null }[]; usage?: unknown });
    expect(parsed[0]?.choices[0]?.delta).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, id: 'c', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
    });
    expect(parsed[1]?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(parsed[2]?.usage).toEqual({ prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 });
  });
});
