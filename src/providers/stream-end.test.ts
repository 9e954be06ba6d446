import { describe, expect, it } from 'vitest';
import { anthropicStreamEnded, openAIStreamEnded, relayStreamEnd } from './stream-end.ts';

const chunk = (choices: { index: number; content?: string; finish?: string }[]): string =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    choices: choices.map(({ index, content, finish }) => ({
      index,
      delta: content === undefined ? {} : { content },
      finish_reason: finish ?? null,
    })),
  })}\n\n`;

const tail = (...pieces: string[]): Buffer[] => pieces.map((piece) => Buffer.from(piece));

describe('whether an OpenAI-format stream reached its end', () => {
  it('is complete with [DONE], in its own chunk or split over two', () => {
    const text = chunk([{ index: 0, content: 'Hi' }]) + chunk([{ index: 0, finish: 'stop' }]);
    expect(openAIStreamEnded(tail(text, 'data: [DONE]\n\n'))).toBe(true);
    expect(openAIStreamEnded(tail(text, 'data: [DO', 'NE]\n\n'))).toBe(true);
    expect(openAIStreamEnded(tail(chunk([{ index: 0, content: 'Hi' }]), 'data:[DONE]\r\n\r\n'))).toBe(true);
  });

  it('is complete without [DONE] once its one choice has a finish_reason', () => {
    expect(openAIStreamEnded(tail(chunk([{ index: 0, content: 'Hi' }]), chunk([{ index: 0, finish: 'stop' }])))).toBe(true);
  });

  it('is cut with neither [DONE] nor a finish_reason, or with nothing at all', () => {
    expect(openAIStreamEnded(tail(chunk([{ index: 0, content: 'Hi' }]), chunk([{ index: 0, content: ' there' }])))).toBe(false);
    expect(openAIStreamEnded([])).toBe(false);
    expect(openAIStreamEnded(tail(''))).toBe(false);
  });

  it('is cut while a choice it started has no finish_reason', () => {
    const started = chunk([{ index: 0, content: 'A' }]) + chunk([{ index: 1, content: 'B' }]);
    expect(openAIStreamEnded(tail(started, chunk([{ index: 0, finish: 'stop' }])))).toBe(false);
    expect(openAIStreamEnded(tail(started, chunk([{ index: 0, finish: 'stop' }]), chunk([{ index: 1, finish: 'length' }])))).toBe(true);
  });

  it('skips an event the window cut in half, and a usage chunk without choices', () => {
    const partial = chunk([{ index: 0, content: 'x'.repeat(40) }]).slice(30);
    const usage = `data: ${JSON.stringify({ id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } })}\n\n`;
    expect(openAIStreamEnded(tail(partial, chunk([{ index: 0, finish: 'stop' }]), usage))).toBe(true);
  });

  it('is not fooled by [DONE] as the text of a cut chunk', () => {
    expect(openAIStreamEnded(tail('data: {"choices":[{"index":0,"delta":{"content":"data: [DONE]'))).toBe(false);
  });
});

describe('whether an Anthropic Messages stream reached its end', () => {
  const start = 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1"}}\n\n';
  const delta = 'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"}}\n\n';

  it('is complete with message_stop', () => {
    expect(anthropicStreamEnded(tail(start, delta, 'event: message_stop\ndata: {"type":"message_stop"}\n\n'))).toBe(true);
    expect(anthropicStreamEnded(tail(start + delta + 'event: message_stop\ndata: {}\n\n'))).toBe(true);
  });

  it('is cut without it: after message_delta, after an error event, or empty', () => {
    expect(anthropicStreamEnded(tail(start, delta))).toBe(false);
    const error = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    expect(anthropicStreamEnded(tail(start, error))).toBe(false);
    expect(anthropicStreamEnded([])).toBe(false);
  });
});

describe('the end check of a relayed stream', () => {
  const request = { method: 'POST' as const, path: '/x', stream: true };

  it('is the OpenAI check for legacy completions, the Anthropic one for messages, none for Responses', () => {
    expect(relayStreamEnd({ ...request, api: 'openai-completions' }).streamEnded).toBe(openAIStreamEnded);
    expect(relayStreamEnd({ ...request, api: 'anthropic-messages' }).streamEnded).toBe(anthropicStreamEnded);
    expect(relayStreamEnd({ ...request, api: 'openai-responses' })).toEqual({});
  });

  it('is none for an answer that is not a stream', () => {
    expect(relayStreamEnd({ ...request, api: 'anthropic-messages', stream: false })).toEqual({});
  });
});
