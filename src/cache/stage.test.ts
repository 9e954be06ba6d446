import { afterEach, describe, expect, it } from 'vitest';
import { RecordingResponse as Written, recordingContext } from '../../test/support/recording-response.ts';
import { cacheSchema } from '../config/cache-schema.ts';
import { createLogger } from '../observability/logger.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { AttemptOptions, AttemptOutcome, ChatRequest, ResponseSink } from '../providers/types.ts';
import type { CachedAnswer } from './answer-store.ts';
import { RedisTier } from './redis-tier.ts';
import { CacheStage, type CacheTicket } from './stage.ts';

function contextOf(id: string, authorization = 'Bearer tenant-a'): { context: RequestContext; res: Written } {
  const res = new Written();
  return { context: recordingContext(res, { id, authorization }), res };
}

const request = (text: string): ChatRequest => ({ model: 'fast', temperature: 0, messages: [{ role: 'user', content: text }] });
const target = { provider: 'openai', upstreamModel: 'gpt-4o-mini', runsTools: false };
const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
const COMPLETION = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
  usage,
});

const noSink: ResponseSink = { start: () => undefined, write: () => true, onDrain: (resume) => resume(), end: () => undefined };

/** Runs the ticket's wrapped attempt with an upstream that answers `COMPLETION` as JSON at once. */
async function answerUpstream(ticket: CacheTicket, context: RequestContext): Promise<AttemptOutcome> {
  const options: AttemptOptions = {
    upstreamModel: 'm',
    sink: noSink,
    signal: context.abort.signal,
    abortHooks: context.abort,
    requestId: context.id,
  };
  const outcome = await ticket.wrap((attempt) => {
    attempt.sink.start(200, 'application/json');
    attempt.sink.write(COMPLETION);
    attempt.sink.end(usage);
    return Promise.resolve({ kind: 'ok', usage });
  })(options);
  ticket.ended?.();
  return outcome;
}

const stages: CacheStage[] = [];
const restores: (() => void)[] = [];
afterEach(async () => {
  for (const restore of restores.splice(0)) restore();
  for (const stage of stages.splice(0)) await stage.close();
});

describe('the cache stage with the shared tier', () => {
  it('serves from L1 an identical request whose lookup in Redis was still pending when the leader stored its answer', async () => {
    // Redis reads are held until released, so that the leader completes while the second request still looks there.
    const held: (() => void)[] = [];
    const get = RedisTier.prototype.get;
    RedisTier.prototype.get = (): Promise<CachedAnswer | undefined> => {
      return new Promise((resolve) => held.push(() => resolve(undefined)));
    };
    const set = RedisTier.prototype.set;
    RedisTier.prototype.set = () => Promise.resolve();
    restores.push(() => {
      RedisTier.prototype.get = get;
      RedisTier.prototype.set = set;
    });
    const stage = new CacheStage(
      cacheSchema.parse({ enabled: true, redis: { url: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379' } }),
      createLogger('silent'),
    );
    stages.push(stage);
    const leader = contextOf('leader');
    const looked = stage.lookup(leader.context, request('capital of France'), target);
    held.shift()?.();
    const ticket = await looked;
    expect(leader.context.cache?.status).toBe('miss');
    if (ticket === undefined || ticket === 'answered') throw new Error('the leader should go upstream');
    // An identical request comes while the leader is in flight: its lookup waits for Redis.
    const second = contextOf('second');
    const secondLooked = stage.lookup(second.context, request('capital of France'), target);
    expect(held).toHaveLength(1);
    // The leader's answer arrives and is stored (and the leader leaves the requests in flight)...
    expect(await answerUpstream(ticket, leader.context)).toEqual({ kind: 'ok', usage });
    // ...before Redis answers the second lookup: a miss there.
    held.shift()?.();
    expect(await secondLooked).toBe('answered');
    expect(second.context.cache?.status).toBe('hit-exact');
    expect(second.res.status).toBe(200);
    expect(JSON.parse(second.res.body)).toMatchObject({ choices: [{ message: { content: 'Paris.' } }] });
  });
});

describe('identical misses of different callers', () => {
  it('never wait for one another: each caller’s key has its own namespace', async () => {
    const stage = new CacheStage(cacheSchema.parse({ enabled: true }), createLogger('silent'));
    stages.push(stage);
    const first = contextOf('first', 'Bearer tenant-a');
    const ticket = stage.lookup(first.context, request('the same question'), target);
    if (ticket === undefined || ticket === 'answered' || ticket instanceof Promise) throw new Error('the first should go upstream');
    // Another caller's identical request, while the first is in flight: a miss of its own, not a waiter.
    const other = contextOf('other', 'Bearer tenant-b');
    const looked = stage.lookup(other.context, request('the same question'), target);
    expect(looked).not.toBeInstanceOf(Promise);
    expect(looked).not.toBe('answered');
    expect(other.context.cache?.status).toBe('miss');
    // The same caller's identical request waits for the first.
    const same = contextOf('same', 'Bearer tenant-a');
    const waiting = stage.lookup(same.context, request('the same question'), target);
    expect(waiting).toBeInstanceOf(Promise);
    await answerUpstream(ticket, first.context);
    expect(await waiting).toBe('answered');
    expect(same.context.cache?.status).toBe('hit-coalesced');
  });
});
