import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { RecordingResponse as Written, recordingContext } from '../../test/support/recording-response.ts';
import type { RequestContext } from '../pipeline/context.ts';
import { RequestAbort } from '../pipeline/request-abort.ts';
import type { ResponseSink } from '../providers/types.ts';
import { AnswerCapture } from './capture.ts';
import { InFlightMisses } from './coalesce.ts';
import { StreamFollower } from './follow.ts';

function contextOf(res: Written): RequestContext {
  return recordingContext(res);
}

const noSink: ResponseSink = { start: () => undefined, write: () => true, onDrain: () => undefined, end: () => undefined };

const event = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;
const head = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm' };
const ROLE = event({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
const WORD = event({ ...head, choices: [{ index: 0, delta: { content: 'héllo 😀' }, finish_reason: null }] });
const FINISH = event({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
const USAGE = event({ ...head, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } });
const DONE = 'data: [DONE]\n\n';
const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };

/** A leader streaming through its capture, and a request following it. */
async function following(includeUsage: boolean) {
  const leader = new InFlightMisses().lead('k');
  const capture = new AnswerCapture(10_000, leader);
  const sink = capture.wrap(noSink);
  sink.start(200, 'text/event-stream');
  sink.write(ROLE);
  const next = await leader.wait(new RequestAbort(), true);
  if (next.kind !== 'follow') throw new Error(next.kind);
  const res = new Written();
  const context = contextOf(res);
  const follower = new StreamFollower(context, next.stream, includeUsage);
  expect(follower.follow()).toBe(true);
  return { leader, capture, sink, res, context, follower };
}

describe('a request following a leader’s stream', () => {
  it('gets each event as it comes, [DONE] once the stream is known complete, and no usage chunk it did not ask for', async () => {
    const { leader, capture, sink, res, context } = await following(false);
    expect(res.status).toBe(200);
    expect(res.body).toBe(ROLE);
    // An event and a character split across chunks.
    const bytes = Buffer.from(WORD);
    const cut = bytes.indexOf(Buffer.from('😀')) + 2;
    sink.write(bytes.subarray(0, cut));
    expect(res.body).toBe(ROLE);
    sink.write(bytes.subarray(cut));
    expect(res.body).toBe(ROLE + WORD);
    sink.write(FINISH + USAGE + DONE);
    expect(res.body).toBe(ROLE + WORD + FINISH);
    expect(res.ended).toBe(false);
    sink.end(usage);
    leader.attemptEnded(capture, { kind: 'ok', usage });
    expect(res.body).toBe(ROLE + WORD + FINISH + DONE);
    expect(res.ended).toBe(true);
    expect(context.usage).toEqual(usage);
    expect(context.streaming).toBe(true);
  });

  it('gets the usage chunk when it asked, made from the upstream’s usage when the leader’s stream had none', async () => {
    const { leader, capture, sink, res } = await following(true);
    sink.write(FINISH + DONE);
    leader.attemptEnded(capture, { kind: 'ok', usage });
    expect(res.body).toBe(ROLE + FINISH + USAGE + DONE);
  });

  it('passes on events separated by CRLF blank lines', async () => {
    const { leader, capture, sink, res } = await following(true);
    const crlf = (text: string): string => text.replace(/\n\n$/, '\r\n\r\n');
    sink.write(crlf(FINISH) + crlf(USAGE) + crlf(DONE));
    leader.attemptEnded(capture, { kind: 'ok', usage });
    expect(res.body).toBe(ROLE + crlf(FINISH) + crlf(USAGE) + crlf(DONE));
  });

  it('ends with the error event the leader’s caller gets when the stream is cut, an unfinished last event left out', async () => {
    const { leader, capture, sink, res, context } = await following(false);
    sink.write(WORD.slice(0, 20));
    leader.attemptEnded(capture, { kind: 'broken', message: 'The upstream stream ended before its final event.' });
    const ending = JSON.parse(res.body.slice(ROLE.length + 'data: '.length)) as { error: { code: string; message: string } };
    expect(ending.error).toMatchObject({ code: 'upstream_error', message: 'The upstream stream ended before its final event.' });
    expect(res.body).not.toContain('[DONE]');
    expect(res.ended).toBe(true);
    expect(context.errorCode).toBe('upstream_error');
  });

  it('stops following when its own client leaves; the stream goes on for the others', async () => {
    const { leader, capture, sink, res, context, follower } = await following(false);
    let ended = false;
    void follower.ended.then(() => (ended = true));
    context.abort.abort('client_closed');
    expect(res.destroyed).toBe(true);
    sink.write(WORD);
    leader.attemptEnded(capture, { kind: 'ok' });
    expect(res.body).toBe(ROLE);
    await Promise.resolve();
    expect(ended).toBe(true);
  });

  it('ends with a timeout error event when its own deadline passes', async () => {
    const { res, context } = await following(false);
    context.abort.abort('deadline');
    expect(res.body).toContain('"code":"upstream_timeout"');
    expect(res.ended).toBe(true);
  });
});
