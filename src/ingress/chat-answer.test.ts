import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ResponseSink } from '../providers/types.ts';
import { AnthropicAnswer } from './anthropic/answer.ts';
import { ANTHROPIC_FORMAT } from './anthropic/format.ts';
import { translatingSink, type AnswerWriter } from './chat-answer.ts';
import { RESPONSES_FORMAT } from './responses/format.ts';
import { newResponseState } from './responses/response.ts';
import { ResponsesAnswer } from './responses/stream.ts';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/providers');

/** OpenAI's recorded text stream, framed as OpenAI sends it. */
const recorded = Buffer.from(
  readFileSync(path.join(fixtures, 'openai/openai-text.chunks.txt'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => `data: ${line}\n\n`)
    .join('') + 'data: [DONE]\n\n',
);

/** A tool call streamed in argument fragments, then a usage chunk. */
const toolCall = Buffer.from(
  [
    {
      choices: [
        {
          index: 0,
          delta: {
            role: 'assistant',
            content: null,
            tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } }],
          },
        },
      ],
    },
    { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } }] },
    { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] } }] },
    { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
    { choices: [], usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 } },
  ]
    .map((chunk) => `data: ${JSON.stringify({ id: 'chatcmpl-1', model: 'm', ...chunk })}\n\n`)
    .join('') + 'data: [DONE]\n\n',
);

/** Feeds the bytes in pieces of `size` and returns what the client got, random ids made stable. */
function run(writer: AnswerWriter, bytes: Buffer, size: number): { status: number; text: string; failure: string | undefined } {
  let text = '';
  let status = 0;
  let failure: string | undefined;
  const client: ResponseSink = {
    start: (answerStatus) => (status = answerStatus),
    write: (chunk) => ((text += chunk.toString()), true),
    onDrain: () => {},
    end: (_usage, failed) => (failure = failed),
  };
  const sink = translatingSink(client, writer, ANTHROPIC_FORMAT);
  sink.start(200, 'text/event-stream');
  for (let offset = 0; offset < bytes.length; offset += size) sink.write(bytes.subarray(offset, offset + size));
  sink.end();
  return { failure, status, text: text.replace(/"(msg|resp|fc|rs)_[0-9a-f]+"/g, '"$1_x"').replace(/"created_at":\d+/g, '"created_at":0') };
}

/** SSE data lines (split on LF only: U+2028 inside a JSON string is not a line end). */
const events = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);

const anthropic = (): AnthropicAnswer => new AnthropicAnswer('m');
const responses = (): ResponsesAnswer =>
  new ResponsesAnswer({ model: 'm', input: 'hi' }, { ...newResponseState('m'), id: 'resp_1', createdAt: 0 }, () => {});

/** The same writer without its fast path: every chunk parsed. */
const parsedOnly = (writer: AnswerWriter): AnswerWriter => ({
  completion: (answer) => writer.completion(answer),
  chunk: (chunk) => writer.chunk(chunk),
  end: () => writer.end(),
  streamError: (message, code) => writer.streamError(message, code),
  get failure() {
    return writer.failure;
  },
});

describe('answers translated from the internal chat stream', () => {
  it('are the same whether the bytes come whole or one at a time (Anthropic events)', () => {
    const whole = run(anthropic(), recorded, recorded.length).text;
    expect(run(anthropic(), recorded, 1).text).toBe(whole);
    const text = events(whole)
      .map((event) => (event['delta'] as { text?: string } | undefined)?.text ?? '')
      .join('');
    expect(text.length).toBeGreaterThan(20);
    expect(whole.startsWith('event: message_start\n')).toBe(true);
    expect(whole.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
  });

  it('are the same whether the bytes come whole or one at a time (Responses events), numbered from 0', () => {
    const whole = run(responses(), recorded, recorded.length).text;
    expect(run(responses(), recorded, 3).text).toBe(whole);
    const numbers = events(whole).map((event) => event['sequence_number']);
    expect(numbers).toEqual(numbers.map((_number, index) => index));
    expect(events(whole).at(-1)).toMatchObject({ type: 'response.completed', response: { status: 'completed' } });
  });

  it('paste hot text deltas as they are, with the same result as parsing them (quotes, escapes, unicode)', () => {
    const tricky = ['He said "hi"', ' \\ back\\slash', ' ✓ \u2028 line', ' {"not":"json"}'];
    const stream = Buffer.from(
      [{ role: 'assistant', content: '' }, ...tricky.map((content) => ({ content }))]
        .map(
          (delta) =>
            `data: ${JSON.stringify({ id: 'c', model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: null }], usage: null })}\n\n`,
        )
        .join('') +
        `data: ${JSON.stringify({ id: 'c', model: 'm', choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`,
    );
    for (const make of [anthropic, responses]) {
      const fast = run(make(), stream, 7).text;
      expect(fast).toBe(run(parsedOnly(make()), stream, 7).text);
      expect(fast).toContain(JSON.stringify(tricky[0]));
    }
    const done = events(run(responses(), stream, 7).text).find((event) => event['type'] === 'response.output_text.done');
    expect(done?.['text']).toBe(tricky.join(''));
  });

  it('turn streamed tool-call arguments into input_json_delta and function_call_arguments events', () => {
    const messages = events(run(anthropic(), toolCall, 5).text);
    expect(messages.filter((event) => event['type'] === 'content_block_delta').map((event) => event['delta'])).toEqual([
      { type: 'input_json_delta', partial_json: '{"city":' },
      { type: 'input_json_delta', partial_json: '"Paris"}' },
    ]);
    expect(messages.find((event) => event['type'] === 'message_delta')).toMatchObject({
      delta: { stop_reason: 'tool_use' },
      usage: { input_tokens: 10, output_tokens: 4 },
    });
    const done = events(run(responses(), toolCall, 5).text).find((event) => event['type'] === 'response.function_call_arguments.done');
    expect(done).toMatchObject({ name: 'weather', arguments: '{"city":"Paris"}' });
  });

  it('end a stream cut before its finish with an error event, never a clean end', () => {
    const cut = recorded.subarray(0, Math.floor(recorded.length / 2));
    const anthropicText = run(anthropic(), cut, 64).text;
    expect(anthropicText).not.toContain('message_stop');
    expect(anthropicText).toMatch(/event: error\n[^\n]+\n\n$/);
    expect(events(anthropicText).at(-1)).toMatchObject({
      type: 'error',
      error: { type: 'api_error', message: expect.stringMatching(/upstream/) as unknown },
    });
    const last = events(run(responses(), cut, 64).text).at(-1);
    expect(last).toMatchObject({ type: 'error', code: 'upstream_error' });
  });

  it('tell the sink they ended with an error event, so the request is recorded as failed (and not cached)', () => {
    const cut = recorded.subarray(0, Math.floor(recorded.length / 2));
    expect(run(anthropic(), cut, 64).failure).toBe('upstream_error');
    expect(run(responses(), cut, 64).failure).toBe('upstream_error');
    expect(run(anthropic(), recorded, 64).failure).toBeUndefined();
    expect(run(responses(), recorded, 64).failure).toBeUndefined();
  });

  it('answer an unreadable JSON answer with a 502 in the caller’s error shape', () => {
    let status = 0;
    let body = '';
    const client: ResponseSink = {
      start: (answerStatus) => (status = answerStatus),
      write: (chunk) => ((body += chunk.toString()), true),
      onDrain: () => {},
      end: () => {},
    };
    const sink = translatingSink(client, anthropic(), ANTHROPIC_FORMAT);
    sink.start(200, 'application/json');
    sink.write('{"choices": [');
    sink.end();
    expect(status).toBe(502);
    expect(JSON.parse(body)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(RESPONSES_FORMAT.errorBody(502, { message: 'x', type: 'server_error', param: null, code: null })).toEqual({
      error: { message: 'x', type: 'server_error', param: null, code: null },
    });
  });
});
