import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { describe, expect, it, vi } from 'vitest';
import { AnthropicStream } from '../anthropic/stream.ts';
import { ConverseStream, eventStreamTranslator } from '../bedrock/stream.ts';
import { GeminiStream } from '../google/stream.ts';
import type { AnswerTranslator } from '../http-transport.ts';
import { sseTranslator } from './translators.ts';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/fixtures/providers');
const lines = (file: string): string[] =>
  readFileSync(path.join(fixtures, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');

/** Feeds the bytes in pieces of `size` (splitting UTF-8 characters and frames anywhere) and returns the OpenAI SSE text. */
function run(translator: AnswerTranslator, bytes: Buffer, size: number): string {
  let out = '';
  for (let offset = 0; offset < bytes.length; offset += size) out += translator.push(bytes.subarray(offset, offset + size));
  return out + translator.end();
}

function events(sse: string): Record<string, unknown>[] {
  return sse
    .split('\n\n')
    .filter((event) => event.startsWith('data: ') && event !== 'data: [DONE]')
    .map((event) => JSON.parse(event.slice(6)) as Record<string, unknown>);
}

function text(sse: string): string {
  return events(sse)
    .map((chunk) => (chunk['choices'] as { delta?: { content?: string } }[])[0]?.delta?.content ?? '')
    .join('');
}

describe('stream translators are incremental', () => {
  const anthropic = Buffer.from(
    lines('anthropic/anthropic-text.chunks.txt')
      .map((line) => `event: ${(JSON.parse(line) as { type: string }).type}\ndata: ${line}\n\n`)
      .join(''),
  );

  it('give the same answer whether the bytes come whole or one at a time', () => {
    const whole = run(sseTranslator(new AnthropicStream('m', true, false)), anthropic, anthropic.length);
    const bytewise = run(sseTranslator(new AnthropicStream('m', true, false)), anthropic, 1);
    expect(text(bytewise)).toBe(text(whole));
    expect(text(whole)).toBe(
      "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?",
    );
    expect(whole.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(events(whole).at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 } });
  });

  it('emit nothing for an event until its bytes are complete', () => {
    const translator = sseTranslator(new AnthropicStream('m', false, false));
    const first = anthropic.indexOf('\n\n') + 2;
    expect(translator.push(anthropic.subarray(0, first - 3))).toBe('');
    expect(translator.push(anthropic.subarray(first - 3, first))).toContain('"role":"assistant"');
  });

  it('read CRLF-framed Gemini events split mid-character', () => {
    const gemini = Buffer.from(
      lines('google/google-text.chunks.txt')
        .map((line) => `data: ${line}\r\n\r\n`)
        .join(''),
    );
    const whole = run(sseTranslator(new GeminiStream('m', false)), gemini, gemini.length);
    expect(text(run(sseTranslator(new GeminiStream('m', false)), gemini, 3))).toBe(text(whole));
    expect(text(whole)).toBe('There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y');
  });

  it('decode AWS event-stream frames split across chunks', () => {
    const codec = new EventStreamCodec(toUtf8, fromUtf8);
    const frames = lines('bedrock/amazon-bedrock-text.chunks.txt').map((line) => {
      const event = JSON.parse(line) as Record<string, unknown>;
      const [type = ''] = Object.keys(event);
      return codec.encode({
        headers: { ':event-type': { type: 'string', value: type }, ':message-type': { type: 'string', value: 'event' } },
        body: fromUtf8(JSON.stringify(event[type])),
      });
    });
    const bytes = Buffer.concat(frames);
    const translated = run(eventStreamTranslator(new ConverseStream('m', true, false)), bytes, 7);
    expect(text(translated)).toContain('There are **3');
    expect(events(translated).at(-1)).toMatchObject({ usage: { prompt_tokens: 22, completion_tokens: 55 } });
  });

  it('fail a stream that ends before its final event, instead of ending it cleanly', () => {
    const cut = anthropic.subarray(0, Math.floor(anthropic.length / 2));
    const translator = sseTranslator(new AnthropicStream('m', false, false));
    const out = run(translator, cut, 64);
    expect(out).not.toContain('[DONE]');
    expect(translator.failure?.body.error.message).toMatch(/ended before its final event/);
  });

  it('turn an error event inside a stream into a classified failure', () => {
    const translator = sseTranslator(new AnthropicStream('m', false, false));
    translator.push(Buffer.from('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'));
    expect(translator.failure).toMatchObject({ status: 503, errorClass: 'overloaded', body: { error: { message: 'Overloaded' } } });
  });

  it('read Gemini text events unparsed exactly as parsed ones: escapes, quotes, thoughts and the latest usage', () => {
    const usage = (candidates: number) => ({ promptTokenCount: 9, candidatesTokenCount: candidates, totalTokenCount: 9 + candidates });
    const texts = ['plain', 'a "quoted" \\ path\\', 'ends with a backslash \\', 'line\nbreak \u00e9 😀', '}],"role":"model"},"index":0}]'];
    const eventsIn = [
      {
        candidates: [{ content: { parts: [{ text: 'first' }], role: 'model' }, index: 0 }],
        usageMetadata: usage(1),
        modelVersion: 'g',
        responseId: 'r',
      },
      { candidates: [{ content: { parts: [{ text: 'thinking...', thought: true }], role: 'model' }, index: 0 }], usageMetadata: usage(2) },
      ...texts.map((part, index) => ({
        candidates: [{ content: { parts: [{ text: part }], role: 'model' }, index: 0 }],
        usageMetadata: usage(3 + index),
      })),
      { candidates: [{ content: { parts: [{ text: '.' }], role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: usage(20) },
    ];
    const bytes = Buffer.from(eventsIn.map((event) => `data: ${JSON.stringify(event)}\r\n\r\n`).join(''));
    const parse = vi.spyOn(JSON, 'parse');
    const translated = run(sseTranslator(new GeminiStream('m', true)), bytes, 5);
    // Parsed: the first event, the thought and the finish (whose usage is the latest); the five text events are not.
    expect(parse).toHaveBeenCalledTimes(3);
    parse.mockRestore();
    expect(text(translated)).toBe(`first${texts.join('')}.`);
    const reasoning = events(translated).map(
      (chunk) => (chunk['choices'] as { delta?: { reasoning_content?: string } }[])[0]?.delta?.reasoning_content ?? '',
    );
    expect(reasoning.join('')).toBe('thinking...');
    expect(events(translated).at(-1)).toMatchObject({ usage: { prompt_tokens: 9, completion_tokens: 20 } });
  });
});
