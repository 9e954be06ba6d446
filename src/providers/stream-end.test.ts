import { describe, expect, it } from 'vitest';
import { anthropicStreamEnd, openAIStreamEnd, relayStreamEnd, responsesStreamEnd, type StreamEnd } from './stream-end.ts';

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

/** How each format's check reads a stream's last bytes (the chunks as they came, for the Responses API's). */
const openAIEnd = (bytes: Buffer[]): StreamEnd => openAIStreamEnd().end(bytes);
const anthropicEnd = (bytes: Buffer[]): StreamEnd => anthropicStreamEnd().end(bytes);
const COMPLETE = { kind: 'complete' };
const CUT = { kind: 'cut' };

describe('whether an OpenAI-format stream reached its end', () => {
  it('is complete with [DONE], in its own chunk or split over two', () => {
    const text = chunk([{ index: 0, content: 'Hi' }]) + chunk([{ index: 0, finish: 'stop' }]);
    expect(openAIEnd(tail(text, 'data: [DONE]\n\n'))).toEqual(COMPLETE);
    expect(openAIEnd(tail(text, 'data: [DO', 'NE]\n\n'))).toEqual(COMPLETE);
    expect(openAIEnd(tail(chunk([{ index: 0, content: 'Hi' }]), 'data:[DONE]\r\n\r\n'))).toEqual(COMPLETE);
  });

  it('is complete without [DONE] once its one choice has a finish_reason', () => {
    expect(openAIEnd(tail(chunk([{ index: 0, content: 'Hi' }]), chunk([{ index: 0, finish: 'stop' }])))).toEqual(COMPLETE);
  });

  it('is cut with neither [DONE] nor a finish_reason, or with nothing at all', () => {
    expect(openAIEnd(tail(chunk([{ index: 0, content: 'Hi' }]), chunk([{ index: 0, content: ' there' }])))).toEqual(CUT);
    expect(openAIEnd([])).toEqual(CUT);
    expect(openAIEnd(tail(''))).toEqual(CUT);
  });

  it('is cut while a choice it started has no finish_reason', () => {
    const started = chunk([{ index: 0, content: 'A' }]) + chunk([{ index: 1, content: 'B' }]);
    expect(openAIEnd(tail(started, chunk([{ index: 0, finish: 'stop' }])))).toEqual(CUT);
    expect(openAIEnd(tail(started, chunk([{ index: 0, finish: 'stop' }]), chunk([{ index: 1, finish: 'length' }])))).toEqual(COMPLETE);
  });

  it('skips an event the window cut in half, and a usage chunk without choices', () => {
    const partial = chunk([{ index: 0, content: 'x'.repeat(40) }]).slice(30);
    const usage = `data: ${JSON.stringify({ id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } })}\n\n`;
    expect(openAIEnd(tail(partial, chunk([{ index: 0, finish: 'stop' }]), usage))).toEqual(COMPLETE);
  });

  it("failed when its last event is OpenAI's own error, with the error's code (or type)", () => {
    const error = (fields: Record<string, unknown>): string =>
      `data: ${JSON.stringify({ error: { message: 'Boom', param: null, ...fields } })}\n\n`;
    const started = chunk([{ index: 0, content: 'Hi' }]);
    expect(openAIEnd(tail(started, error({ type: 'server_error', code: 'invalid_model_output' })))).toEqual({
      kind: 'failed',
      code: 'invalid_model_output',
    });
    expect(openAIEnd(tail(started, error({ type: 'server_error', code: null })))).toEqual({ kind: 'failed', code: 'server_error' });
    expect(openAIEnd(tail(started + error({})))).toEqual({ kind: 'failed', code: 'upstream_error' });
    expect(openAIEnd(tail(error({ code: 'x' }), started))).toEqual(CUT);
  });

  it('is complete with [DONE] followed by keep-alive comments, even without a finish_reason', () => {
    const unfinished = chunk([{ index: 0, content: 'Hi' }]);
    expect(openAIEnd(tail(unfinished, 'data: [DONE]\n\n', ': keep-alive\n\n'))).toEqual(COMPLETE);
    expect(openAIEnd(tail(unfinished, 'data: [DONE]\r\n\r\n: ping\r\n\r\n', ':\n\n'))).toEqual(COMPLETE);
    expect(openAIEnd(tail(unfinished, ': keep-alive\n\n'))).toEqual(CUT);
  });

  it('is not fooled by [DONE] as the text of a cut chunk', () => {
    expect(openAIEnd(tail('data: {"choices":[{"index":0,"delta":{"content":"data: [DONE]'))).toEqual(CUT);
  });
});

describe('whether an Anthropic Messages stream reached its end', () => {
  const start = 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1"}}\n\n';
  const delta = 'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"}}\n\n';

  it('is complete with message_stop', () => {
    expect(anthropicEnd(tail(start, delta, 'event: message_stop\ndata: {"type":"message_stop"}\n\n'))).toEqual(COMPLETE);
    expect(anthropicEnd(tail(start + delta + 'event: message_stop\ndata: {}\n\n'))).toEqual(COMPLETE);
  });

  it('is complete with message_stop followed by keep-alive comments, or longer than the bytes first looked at', () => {
    const stop = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';
    expect(anthropicEnd(tail(start, delta, stop, ': keep-alive\n\n'.repeat(30)))).toEqual(COMPLETE);
    const metrics = { 'amazon-bedrock-invocationMetrics': { inputTokenCount: 12, outputTokenCount: 34, note: 'x'.repeat(300) } };
    expect(
      anthropicEnd(tail(start, delta, `event: message_stop\ndata: ${JSON.stringify({ type: 'message_stop', ...metrics })}\n\n`)),
    ).toEqual(COMPLETE);
    expect(anthropicEnd(tail(start, delta, ': keep-alive\n\n'.repeat(30)))).toEqual(CUT);
  });

  it('is cut without it: after message_delta, or empty', () => {
    expect(anthropicEnd(tail(start, delta))).toEqual(CUT);
    expect(anthropicEnd([])).toEqual(CUT);
  });

  it("failed when it ends with Anthropic's own error event, whose type is its code", () => {
    const error = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    expect(anthropicEnd(tail(start, error))).toEqual({ kind: 'failed', code: 'overloaded_error' });
    expect(anthropicEnd(tail(start, delta, 'event: error\ndata: {"type":"error"}\n\n'))).toEqual({
      kind: 'failed',
      code: 'upstream_error',
    });
    // An error event earlier in the stream, then more: the last event decides.
    expect(anthropicEnd(tail(error, delta))).toEqual(CUT);
  });
});

describe('whether a Responses stream reached its end', () => {
  const event = (type: string, fields: Record<string, unknown> = {}): string =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: 1, ...fields })}\n\n`;
  const delta = event('response.output_text.delta', { delta: 'Hi' });
  /** The check, having seen the chunks pass, reading the last 8 KiB of them as the transport keeps. */
  const responsesEnd = (...chunks: string[]): StreamEnd => {
    const check = responsesStreamEnd();
    const bytes = chunks.map((piece) => Buffer.from(piece));
    for (const piece of bytes) check.seen?.(piece);
    const kept = Buffer.concat(bytes);
    return check.end([kept.subarray(Math.max(0, kept.length - 8192))]);
  };
  const completed = event('response.completed', { response: { id: 'resp_1', status: 'completed', output_text: 'x'.repeat(20_000) } });

  it('is complete with response.completed or response.incomplete last, however long (longer than the bytes kept)', () => {
    expect(responsesEnd(delta, completed)).toEqual(COMPLETE);
    expect(responsesEnd(delta + completed)).toEqual(COMPLETE);
    expect(responsesEnd(delta, event('response.incomplete', { response: { status: 'incomplete' } }))).toEqual(COMPLETE);
  });

  it('finds the last event however the chunks split it: its name, its blank line, CRLF', () => {
    const split = (text: string, at: number[]): string[] => [0, ...at].map((from, index) => text.slice(from, [...at, text.length][index]));
    for (const at of [
      [3],
      [delta.length - 1],
      [delta.length + 10],
      [delta.length + 'event: response.comp'.length],
      [delta.length, delta.length + 1],
    ])
      expect(responsesEnd(...split(delta + completed, at))).toEqual(COMPLETE);
    expect(responsesEnd(...split(completed + delta, [completed.length - 1]))).toEqual(CUT);
    const crlf = (text: string): string => text.replaceAll('\n', '\r\n');
    expect(responsesEnd(crlf(delta), crlf(completed))).toEqual(COMPLETE);
    expect(responsesEnd(crlf(completed), crlf(delta))).toEqual(CUT);
  });

  it('takes keep-alive comments after the last event for no event, however the chunks split them', () => {
    const keepAlive = ': keep-alive\n\n';
    expect(responsesEnd(delta, completed, keepAlive)).toEqual(COMPLETE);
    expect(responsesEnd(delta, completed + keepAlive + keepAlive)).toEqual(COMPLETE);
    expect(responsesEnd(delta + completed + keepAlive)).toEqual(COMPLETE);
    expect(responsesEnd(delta, completed, ': ke', 'ep-alive\n\n')).toEqual(COMPLETE);
    expect(responsesEnd(delta, completed, keepAlive, '\n')).toEqual(COMPLETE);
    expect(responsesEnd(delta, completed.trimEnd(), `\n\n${keepAlive}`)).toEqual(COMPLETE);
    const crlf = (text: string): string => text.replaceAll('\n', '\r\n');
    expect(responsesEnd(crlf(delta), crlf(completed), crlf(keepAlive))).toEqual(COMPLETE);
    expect(responsesEnd(crlf(delta + completed + keepAlive))).toEqual(COMPLETE);
    expect(responsesEnd(completed, delta, keepAlive)).toEqual(CUT);
    expect(responsesEnd(completed + delta + keepAlive)).toEqual(CUT);
  });

  it('reads the type of an event without an event line', () => {
    expect(responsesEnd(delta, `data: ${JSON.stringify({ type: 'response.completed', response: {} })}\n\n`)).toEqual(COMPLETE);
  });

  it('is cut when it ends at any other event, part way through one (its final one too: never dispatched), or empty', () => {
    expect(responsesEnd(event('response.created'), delta)).toEqual(CUT);
    expect(responsesEnd(delta, completed.slice(0, 100))).toEqual(CUT);
    expect(responsesEnd(delta, completed.trimEnd())).toEqual(CUT);
    expect(responsesEnd(delta, 'event: response.output_text.delta\ndata: {"type":"resp')).toEqual(CUT);
    expect(responsesEnd()).toEqual(CUT);
  });

  it('failed when it ends with an error event or response.failed, with their code', () => {
    const error = event('error', { code: 'server_error', message: 'An error occurred.', param: null });
    expect(responsesEnd(delta, error)).toEqual({ kind: 'failed', code: 'server_error' });
    expect(responsesEnd(delta, event('error', { message: 'x' }))).toEqual({ kind: 'failed', code: 'upstream_error' });
    const failedResponse = event('response.failed', {
      response: { status: 'failed', error: { code: 'rate_limit_exceeded', message: 'x' } },
    });
    expect(responsesEnd(delta, failedResponse)).toEqual({ kind: 'failed', code: 'rate_limit_exceeded' });
  });
});

describe('the end check of a relayed stream', () => {
  const request = { method: 'POST' as const, path: '/x', stream: true };

  it("is each native API's own: OpenAI's for legacy completions, Anthropic's, the Responses API's", () => {
    expect(relayStreamEnd({ ...request, api: 'openai-completions' }).streamEnd).toBe(openAIStreamEnd);
    expect(relayStreamEnd({ ...request, api: 'anthropic-messages' }).streamEnd).toBe(anthropicStreamEnd);
    expect(relayStreamEnd({ ...request, api: 'openai-responses' }).streamEnd).toBe(responsesStreamEnd);
  });

  it('is none for an answer that is not a stream', () => {
    expect(relayStreamEnd({ ...request, api: 'anthropic-messages', stream: false })).toEqual({});
  });
});
