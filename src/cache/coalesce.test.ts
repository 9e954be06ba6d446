import { describe, expect, it } from 'vitest';
import { RequestAbort } from '../pipeline/request-abort.ts';
import type { CachedAnswer } from './answer-store.ts';
import { InFlightMisses } from './coalesce.ts';

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
