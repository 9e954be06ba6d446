import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import type { ResponseSink } from '../providers/types.ts';
import { AnswerCapture } from './capture.ts';

const noSink: ResponseSink = { start: () => undefined, write: () => true, onDrain: () => undefined, end: () => undefined };

describe('an answer captured on its way to the client', () => {
  it('keeps a character whole when the upstream’s chunks split its bytes', () => {
    const completion = JSON.stringify({
      id: 'c',
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'héllo 😀' }, finish_reason: 'stop' }],
    });
    const bytes = Buffer.from(completion);
    const cut = bytes.indexOf(Buffer.from('😀')) + 1;
    const capture = new AnswerCapture(10_000);
    const sink = capture.wrap(noSink);
    sink.start(200, 'application/json');
    sink.write(bytes.subarray(0, cut));
    sink.write(bytes.subarray(cut));
    sink.end(undefined);
    expect(capture.completion()).toBe(completion);
  });

  it('keeps nothing to store past the cap, and nothing to replay', () => {
    const capture = new AnswerCapture(8);
    const sink = capture.wrap(noSink);
    sink.start(200, 'text/event-stream');
    sink.write('data: a\n\n');
    sink.end(undefined);
    expect(capture.sent()).toBeUndefined();
    expect(capture.completion()).toBeUndefined();
  });

  it('puts the usage the upstream reported in a streamed answer that carried none, and keeps a stream’s own', () => {
    const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
    const head = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm' };
    const stream = [
      `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }] })}\n\n`,
      `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
    ];
    const stored = (chunks: string[], reported?: typeof usage): { usage?: unknown } => {
      const capture = new AnswerCapture(10_000);
      const sink = capture.wrap(noSink);
      sink.start(200, 'text/event-stream');
      for (const chunk of chunks) sink.write(chunk);
      sink.write('data: [DONE]\n\n');
      sink.end(reported);
      return JSON.parse(capture.completion(reported) ?? 'null') as { usage?: unknown };
    };
    expect(stored(stream, usage).usage).toEqual(usage);
    expect(stored(stream).usage).toBeUndefined();
    const own = { prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 };
    expect(stored([...stream, `data: ${JSON.stringify({ ...head, choices: [], usage: own })}\n\n`], usage).usage).toEqual(own);
  });

  it('stops writing to a client that left, goes on keeping and relaying, and resumes an upstream that waited for it to drain', () => {
    const written: string[] = [];
    let drained: (() => void) | undefined;
    const slow: ResponseSink = {
      start: () => undefined,
      write: (chunk) => {
        written.push(String(chunk));
        return false;
      },
      onDrain: (resume) => (drained = resume),
      end: () => written.push('end'),
    };
    const capture = new AnswerCapture(10_000);
    const relayed: string[] = [];
    const sink = capture.wrap(slow);
    sink.start(200, 'text/event-stream');
    expect(sink.write('data: a\n\n')).toBe(false);
    capture.relayTo((chunk) => relayed.push(String(chunk)));
    let resumed = 0;
    sink.onDrain(() => resumed++);
    capture.detach();
    expect(resumed).toBe(1);
    drained?.(); // a late drain of the client resumes nothing twice
    expect(resumed).toBe(1);
    expect(sink.write('data: b\n\n')).toBe(true);
    sink.end(undefined);
    expect(written).toEqual(['data: a\n\n']);
    expect(relayed).toEqual(['data: b\n\n']);
    expect(capture.sent()).toEqual(['data: a\n\n', 'data: b\n\n']);
  });
});
