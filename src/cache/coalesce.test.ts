import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RequestAbort } from '../pipeline/request-abort.ts';
import type { CachedAnswer } from './answer-store.ts';
import type { AttemptOptions, AttemptOutcome, ResponseSink } from '../providers/types.ts';
import { AnswerCapture } from './capture.ts';
import { InFlightMisses, type CarriedFor, type Follower, type Leader, type LiveStream, type StreamEnding } from './coalesce.ts';

const answer: CachedAnswer = { body: '{"object":"chat.completion","choices":[]}', expiresAt: Date.now() + 60_000 };

describe('identical misses in flight', () => {
  it('serves every waiter the answer the leader stored, and forgets the leader at once', async () => {
    const inFlight = new InFlightMisses();
    const leader = inFlight.lead('k');
    expect(inFlight.leaderOf('k')).toBe(leader);
    const waiting = [leader.wait(new RequestAbort()), leader.wait(new RequestAbort())];
    leader.answered(answer);
    expect(inFlight.size).toBe(0);
    expect(await Promise.all(waiting)).toEqual([
      { kind: 'answer', answer },
      { kind: 'answer', answer },
    ]);
    leader.ended(); // the delivery ends afterwards: nothing more happens
    expect(inFlight.size).toBe(0);
  });

  it('sends the waiters upstream alone when the leader ends without an answer (failed, cut, not cacheable)', async () => {
    const inFlight = new InFlightMisses();
    const leader = inFlight.lead('k');
    const waiting = leader.wait(new RequestAbort());
    leader.ended();
    expect(inFlight.size).toBe(0);
    expect(await waiting).toEqual({ kind: 'alone' });
    expect(await leader.wait(new RequestAbort())).toEqual({ kind: 'alone' });
  });

  it('lets a waiter whose client left or whose deadline passed stop waiting, alone', async () => {
    const inFlight = new InFlightMisses();
    const leader = inFlight.lead('k');
    const gone = new RequestAbort();
    const stays = new RequestAbort();
    const first = leader.wait(gone);
    const second = leader.wait(stays);
    gone.abort('deadline');
    expect(await first).toEqual({ kind: 'gone' });
    leader.answered(answer);
    expect(await second).toEqual({ kind: 'answer', answer });
    const late = new RequestAbort();
    late.abort('client_closed');
    expect(await inFlight.lead('other').wait(late)).toEqual({ kind: 'gone' });
  });

  it('keeps the place of a later leader for the same answer when an earlier one ends', () => {
    const inFlight = new InFlightMisses();
    const first = inFlight.lead('k');
    first.answered(answer); // stored, then evicted before the next request came
    const second = inFlight.lead('k');
    first.ended();
    expect(inFlight.leaderOf('k')).toBe(second);
    second.ended();
    expect(inFlight.size).toBe(0);
  });
});

/** A follower that notes what it is sent. */
class Recording implements Follower {
  readonly chunks: string[] = [];
  ending: StreamEnding | undefined;
  catchUp(chunks: readonly (Buffer | string)[]): void {
    for (const chunk of chunks) this.chunks.push(String(chunk));
  }
  data(chunk: Buffer | string): void {
    this.chunks.push(String(chunk));
  }
  end(ending: StreamEnding): void {
    this.ending = ending;
  }
}

const noSink: ResponseSink = { start: () => undefined, write: () => true, onDrain: () => undefined, end: () => undefined };

/** A leader's attempt whose answer streams through a capture, as the cache stage wraps it. */
function streamingAttempt(leader: Leader, maxBytes = 1000): { capture: AnswerCapture; sink: ResponseSink } {
  const capture = new AnswerCapture(maxBytes, leader);
  const sink = capture.wrap(noSink);
  sink.start(200, 'text/event-stream; charset=utf-8');
  return { capture, sink };
}

async function followed(leader: Leader, follower: Follower): Promise<LiveStream> {
  const next = await leader.wait(new RequestAbort(), true);
  if (next.kind !== 'follow') throw new Error(`expected to follow, got ${next.kind}`);
  expect(next.stream.follow(follower)).toBe(true);
  return next.stream;
}

describe('a leader’s stream followed live', () => {
  it('lets waiters that asked for a stream follow it from its first bytes, late ones from its beginning; JSON waiters get the stored answer', async () => {
    const inFlight = new InFlightMisses();
    const leader = inFlight.lead('k');
    const early = leader.wait(new RequestAbort(), true);
    const json = leader.wait(new RequestAbort(), false);
    const { capture, sink } = streamingAttempt(leader);
    sink.write('data: a\n\n');
    const first = new Recording();
    const next = await early;
    expect(next.kind).toBe('follow');
    if (next.kind === 'follow') next.stream.follow(first);
    sink.write('data: b\n\n');
    const late = new Recording();
    const stream = await followed(leader, late);
    sink.write('data: c\n\n');
    expect(first.chunks).toEqual(['data: a\n\n', 'data: b\n\n', 'data: c\n\n']);
    expect(late.chunks).toEqual(['data: a\n\n', 'data: b\n\n', 'data: c\n\n']);
    sink.end(undefined);
    leader.attemptEnded(capture, { kind: 'ok' });
    expect(first.ending).toEqual({ kind: 'complete', usage: undefined });
    expect(late.ending).toEqual({ kind: 'complete', usage: undefined });
    leader.answered(answer);
    expect(await json).toEqual({ kind: 'answer', answer });
    // One that joins a complete stream gets all of it, and its end.
    const after = new Recording();
    expect(stream.follow(after)).toBe(true);
    expect(after.chunks).toEqual(['data: a\n\n', 'data: b\n\n', 'data: c\n\n']);
    expect(after.ending?.kind).toBe('complete');
  });

  it('ends its followers with the error of a cut stream; those yet to join go upstream alone', async () => {
    const leader = new InFlightMisses().lead('k');
    const { capture, sink } = streamingAttempt(leader);
    sink.write('data: a\n\n');
    const follower = new Recording();
    const stream = await followed(leader, follower);
    leader.attemptEnded(capture, { kind: 'broken', message: 'cut' });
    expect(follower.ending).toEqual({ kind: 'broken', message: 'cut' });
    expect(stream.joinable).toBe(false);
    expect(stream.follow(new Recording())).toBe(false);
    const waiting = leader.wait(new RequestAbort(), false);
    leader.ended();
    expect(await waiting).toEqual({ kind: 'alone' });
  });

  it('tells its followers of an error event the stream ended with, which they already have', async () => {
    const leader = new InFlightMisses().lead('k');
    const { capture, sink } = streamingAttempt(leader);
    sink.write('data: {"error":{}}\n\n');
    const follower = new Recording();
    await followed(leader, follower);
    sink.end(undefined, 'model_error');
    leader.attemptEnded(capture, { kind: 'broken', message: 'The upstream ended its stream with an error event.' });
    expect(follower.ending).toEqual({ kind: 'failed', code: 'model_error' });
  });

  it('never ends a follower as complete when the leader’s delivery ends without its attempt’s outcome', async () => {
    const leader = new InFlightMisses().lead('k');
    const { sink } = streamingAttempt(leader);
    sink.write('data: a\n\n');
    const follower = new Recording();
    await followed(leader, follower);
    leader.ended();
    expect(follower.ending?.kind).toBe('broken');
  });

  it('drops a follower that leaves; the others go on', async () => {
    const leader = new InFlightMisses().lead('k');
    const { sink } = streamingAttempt(leader);
    sink.write('data: a\n\n');
    const [leaving, staying] = [new Recording(), new Recording()];
    const stream = await followed(leader, leaving);
    stream.follow(staying);
    stream.unfollow(leaving);
    sink.write('data: b\n\n');
    expect(leaving.chunks).toEqual(['data: a\n\n']);
    expect(staying.chunks).toEqual(['data: a\n\n', 'data: b\n\n']);
  });

  it('sends waiters upstream alone once what went out is past the entry cap: it is neither kept to replay nor stored', async () => {
    const leader = new InFlightMisses().lead('k');
    const early = leader.wait(new RequestAbort(), true);
    const { sink } = streamingAttempt(leader, 16);
    sink.write('data: a\n\n');
    const next = await early;
    sink.write('data: more than the cap\n\n');
    expect(next.kind === 'follow' && next.stream.joinable).toBe(false);
    expect(await leader.wait(new RequestAbort(), true)).toEqual({ kind: 'alone' });
    expect(await leader.wait(new RequestAbort(), false)).toEqual({ kind: 'alone' });
  });

  it('sends the JSON requests already waiting upstream alone as soon as the stream passes the entry cap, not when it ends', async () => {
    const inFlight = new InFlightMisses();
    const leader = inFlight.lead('k');
    const json = leader.wait(new RequestAbort(), false);
    const { sink } = streamingAttempt(leader, 16);
    sink.write('data: a\n\n');
    const follower = new Recording();
    await followed(leader, follower);
    let settled: unknown;
    void json.then((next) => (settled = next));
    sink.write('data: more than the cap\n\n');
    await Promise.resolve();
    // The answer will not be stored: nothing is gained by waiting for the leader's stream to end.
    expect(settled).toEqual({ kind: 'alone' });
    // Those following it go on.
    sink.write('data: b\n\n');
    expect(follower.chunks).toEqual(['data: a\n\n', 'data: more than the cap\n\n', 'data: b\n\n']);
    expect(follower.ending).toBeUndefined();
    // So do those waiting when the stream's first bytes pass it.
    const other = new InFlightMisses().lead('k');
    const waiting = other.wait(new RequestAbort(), false);
    streamingAttempt(other, 4).sink.write('data: a\n\n');
    expect(await waiting).toEqual({ kind: 'alone' });
  });

  it('waits for a JSON answer: nothing to follow', async () => {
    const leader = new InFlightMisses().lead('k');
    const waiting = leader.wait(new RequestAbort(), true);
    const capture = new AnswerCapture(1000, leader);
    const sink = capture.wrap(noSink);
    sink.start(200, 'application/json');
    sink.write(answer.body);
    sink.end(undefined);
    leader.attemptEnded(capture, { kind: 'ok' });
    leader.answered(answer);
    expect(await waiting).toEqual({ kind: 'answer', answer });
  });
});

/** A leader’s client: what its response got. */
class LeaderSink implements ResponseSink {
  readonly chunks: string[] = [];
  ended = false;
  start(): void {}
  write(chunk: Buffer | string): boolean {
    this.chunks.push(String(chunk));
    return true;
  }
  onDrain(): void {}
  end(): void {
    this.ended = true;
  }
}

/**
 * A leader’s streaming attempt as the cache stage runs it: its upstream call (which, as the HTTP
 * transport does, hooks the abort it is given and ends `cancelled` when that fires) carried under
 * an abort of its own, its outcome handled as the stage does.
 */
function carriedAttempt(leader: Leader, deadlineAt = performance.now() + 60_000) {
  const leaderAbort = new RequestAbort();
  const client = new LeaderSink();
  const capture = new AnswerCapture(1000, leader);
  const options: AttemptOptions = { upstreamModel: 'm', sink: client, signal: leaderAbort.signal, abortHooks: leaderAbort, requestId: 'r' };
  const sink = capture.wrap(client);
  // The leader's request, priced at $1 per million tokens in and $2 out.
  const request: CarriedFor = { deadlineAt, price: { input_per_mtok: 1, output_per_mtok: 2 } };
  const call = leader.carry(capture, options, request);
  const upstream = { aborted: false, end: (_outcome: AttemptOutcome): void => undefined, handled: undefined as AttemptOutcome | undefined };
  const attempt = call.run(
    () =>
      new Promise<AttemptOutcome>((resolve) => {
        upstream.end = resolve;
        call.add(() => {
          upstream.aborted = true;
          resolve({ kind: 'cancelled' });
        });
      }),
    (outcome) => {
      upstream.handled = outcome;
      leader.attemptEnded(capture, outcome);
      if (outcome.kind === 'ok') leader.answered(answer);
    },
  );
  sink.start(200, 'text/event-stream');
  return { leaderAbort, client, capture, sink, call, upstream, attempt, request };
}

describe('a leader whose own client leaves while others follow its stream', () => {
  it('ends the leader’s attempt at once as cancelled, and keeps the upstream call going for the followers until it completes', async () => {
    const inFlight = new InFlightMisses();
    const leader = inFlight.lead('k');
    const { leaderAbort, client, sink, call, upstream, attempt } = carriedAttempt(leader);
    sink.write('data: a\n\n');
    const follower = new Recording();
    await followed(leader, follower);
    const json = leader.wait(new RequestAbort(), false);
    leaderAbort.abort('client_closed');
    expect(await attempt).toEqual({ kind: 'cancelled' });
    expect(upstream.aborted).toBe(false);
    expect(call.signal.aborted).toBe(false);
    // The leader's delivery ends with it; the followers and waiters do not.
    leader.ended();
    expect(inFlight.leaderOf('k')).toBe(leader);
    expect(follower.ending).toBeUndefined();
    // A request that comes now follows too.
    const late = new Recording();
    await followed(leader, late);
    sink.write('data: b\n\n');
    expect(client.chunks).toEqual(['data: a\n\n']); // nothing more is written to the client that left
    expect(follower.chunks).toEqual(['data: a\n\n', 'data: b\n\n']);
    expect(late.chunks).toEqual(['data: a\n\n', 'data: b\n\n']);
    sink.end(undefined);
    expect(client.ended).toBe(false);
    upstream.end({ kind: 'ok' });
    expect(await json).toEqual({ kind: 'answer', answer });
    expect(upstream.handled).toEqual({ kind: 'ok' });
    expect(follower.ending?.kind).toBe('complete');
    expect(late.ending?.kind).toBe('complete');
    expect(inFlight.size).toBe(0);
  });

  it('puts what the carried call used on the leader’s request, and settles it (`carried`) only once that call has ended', async () => {
    const leader = new InFlightMisses().lead('k');
    const { leaderAbort, sink, upstream, attempt, request } = carriedAttempt(leader);
    sink.write('data: a\n\n');
    await followed(leader, new Recording());
    leaderAbort.abort('client_closed');
    const carried = request.carried;
    expect(carried).toBeInstanceOf(Promise);
    expect(await attempt).toEqual({ kind: 'cancelled' });
    let settled = false;
    void carried?.then(() => (settled = true));
    await sleep(5);
    expect(settled).toBe(false);
    expect(request.usage).toBeUndefined();
    const usage = { prompt_tokens: 1_000_000, completion_tokens: 500_000, total_tokens: 1_500_000 };
    upstream.end({ kind: 'ok', usage });
    await carried;
    expect(request.usage).toEqual(usage);
    expect(request.costUsd).toBe(2);
  });

  it('pays for what a carried call cut part way had reported', async () => {
    const leader = new InFlightMisses().lead('k');
    const { leaderAbort, sink, upstream, request } = carriedAttempt(leader);
    sink.write('data: a\n\n');
    await followed(leader, new Recording());
    leaderAbort.abort('client_closed');
    const usage = { prompt_tokens: 1_000_000, completion_tokens: 0, total_tokens: 1_000_000 };
    upstream.end({ kind: 'broken', message: 'cut', usage });
    await request.carried;
    expect(request.usage).toEqual(usage);
    expect(request.costUsd).toBe(1);
  });

  it('aborts the upstream call at once, as without coalescing, when nobody follows it', async () => {
    const inFlight = new InFlightMisses();
    const leader = inFlight.lead('k');
    const { leaderAbort, sink, call, upstream, attempt, request } = carriedAttempt(leader);
    sink.write('data: a\n\n');
    const json = leader.wait(new RequestAbort(), false);
    leaderAbort.abort('client_closed');
    // Nothing is carried: the leader's request is settled as any whose client left, at once.
    expect(request.carried).toBeUndefined();
    expect(upstream.aborted).toBe(true);
    expect(call.signal.reason).toBe('client_closed');
    expect(await attempt).toEqual({ kind: 'cancelled' });
    expect(upstream.handled).toEqual({ kind: 'cancelled' });
    leader.ended();
    expect(await json).toEqual({ kind: 'alone' });
    expect(inFlight.size).toBe(0);
  });

  it('aborts the upstream call once its last follower leaves too; a request that comes then goes upstream alone', async () => {
    const inFlight = new InFlightMisses();
    const leader = inFlight.lead('k');
    const { leaderAbort, sink, upstream, attempt, request } = carriedAttempt(leader);
    sink.write('data: a\n\n');
    const [first, second] = [new Recording(), new Recording()];
    const stream = await followed(leader, first);
    stream.follow(second);
    const json = leader.wait(new RequestAbort(), false);
    leaderAbort.abort('client_closed');
    expect(await attempt).toEqual({ kind: 'cancelled' });
    leader.ended();
    stream.unfollow(first);
    expect(upstream.aborted).toBe(false);
    stream.unfollow(second);
    expect(upstream.aborted).toBe(true);
    expect(stream.joinable).toBe(false);
    await Promise.resolve();
    expect(upstream.handled).toEqual({ kind: 'cancelled' });
    expect(await json).toEqual({ kind: 'alone' });
    expect(inFlight.size).toBe(0);
    // The leader's request is settled then, with nothing reported to pay for.
    await request.carried;
    expect(request.usage).toBeUndefined();
  });

  it('aborts the upstream call, ending the followers with an error, when the leader’s deadline passes', async () => {
    const leader = new InFlightMisses().lead('k');
    const { leaderAbort, sink, upstream, attempt } = carriedAttempt(leader, performance.now() + 30);
    sink.write('data: a\n\n');
    const follower = new Recording();
    await followed(leader, follower);
    leaderAbort.abort('client_closed');
    expect(await attempt).toEqual({ kind: 'cancelled' });
    expect(upstream.aborted).toBe(false);
    await sleep(60);
    expect(upstream.aborted).toBe(true);
    expect(follower.ending?.kind).toBe('broken');
  });

  it('keeps the upstream call going for the followers when the leader’s deadline is further than a timer can wait (about 24.8 days)', async () => {
    const leader = new InFlightMisses().lead('k');
    const { leaderAbort, sink, upstream, attempt } = carriedAttempt(leader, performance.now() + 30 * 24 * 3600 * 1000);
    sink.write('data: a\n\n');
    const follower = new Recording();
    await followed(leader, follower);
    leaderAbort.abort('client_closed');
    expect(await attempt).toEqual({ kind: 'cancelled' });
    await sleep(30);
    expect(upstream.aborted).toBe(false);
    expect(follower.ending).toBeUndefined();
    upstream.end({ kind: 'ok' });
    await Promise.resolve();
    expect(follower.ending?.kind).toBe('complete');
  });

  it('aborts the upstream call at once when the leader’s deadline passes or the gateway shuts down, followed or not', async () => {
    for (const reason of ['deadline', 'shutdown']) {
      const leader = new InFlightMisses().lead('k');
      const { leaderAbort, sink, upstream, attempt } = carriedAttempt(leader);
      sink.write('data: a\n\n');
      const follower = new Recording();
      await followed(leader, follower);
      leaderAbort.abort(reason);
      expect(upstream.aborted).toBe(true);
      expect(await attempt).toEqual({ kind: 'cancelled' });
      expect(follower.ending?.kind).toBe('broken');
    }
  });

  it('never starts the upstream call of a leader already aborted', async () => {
    const leader = new InFlightMisses().lead('k');
    const leaderAbort = new RequestAbort();
    leaderAbort.abort('client_closed');
    const capture = new AnswerCapture(1000, leader);
    const call = leader.carry(
      capture,
      { upstreamModel: 'm', sink: noSink, signal: leaderAbort.signal, abortHooks: leaderAbort, requestId: 'r' },
      { deadlineAt: 0 },
    );
    expect(call.signal.aborted).toBe(true);
    expect(
      await call.run(
        () => Promise.resolve({ kind: 'cancelled' }),
        () => undefined,
      ),
    ).toEqual({ kind: 'cancelled' });
  });
});
