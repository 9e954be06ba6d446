import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePacedChatStream } from '../fakes/paced-chat-stream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

// Identical streaming requests that miss the cache together: the first (the leader) goes upstream,
// the others follow its stream live, from its first event (what they missed is replayed at once),
// and end as it ends: with [DONE], or with the same error event when it was cut or failed.

/** Between two events of the upstream's stream: a stream of the whole answer takes about 1.5 s. */
const EVENT_GAP_MS = 150;
const WORDS = ['Live ', 'streams ', 'reach ', 'every ', 'waiter ', 'as ', 'they ', 'arrive.'];
const USAGE = { prompt_tokens: 7, completion_tokens: WORDS.length, total_tokens: 7 + WORDS.length };

/** How the upstream ends a stream: normally, cut (ended cleanly after a few words, with no finish and no [DONE]), with its own error event, or refused with a 500. */
type Ending = 'complete' | 'cut' | 'error' | 'refuse';

interface UpstreamCall {
  readonly text: string;
  readonly arrivedAt: number;
  /** When the upstream wrote the stream's last byte (performance.now() in this process). */
  endedAt: number;
  /** When the gateway closed the connection; 0 while it is open. */
  closedAt: number;
  /** The gateway closed the connection before the upstream had sent the whole answer. */
  cut: boolean;
}

let upstream: Server;
let gateway: GatewayProcess;
const calls: UpstreamCall[] = [];
/** The next call for a text ends this way (once); later calls are answered normally. */
const nextEnding = new Map<string, Ending>();

async function answer(res: ServerResponse, call: UpstreamCall, ending: Ending, includeUsage: boolean): Promise<void> {
  if (ending === 'refuse') {
    await sleep(EVENT_GAP_MS * 2);
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'The server had an error.', type: 'server_error', param: null, code: null } }));
    call.endedAt = performance.now();
    return;
  }
  await writePacedChatStream(res, {
    id: `chatcmpl-${calls.length}`,
    words: WORDS,
    gapMs: EVENT_GAP_MS,
    usage: USAGE,
    includeUsage,
    endsBefore: (index) => {
      if (ending === 'complete' || index !== 3) return false;
      if (ending === 'error')
        res.write(`data: ${JSON.stringify({ error: { message: 'The model failed.', type: 'server_error', code: 'model_error' } })}\n\n`);
      res.end();
      return true;
    },
  });
  call.endedAt = performance.now();
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as {
        messages: { content: string }[];
        stream_options?: { include_usage?: boolean };
      };
      const text = body.messages.at(-1)?.content ?? '';
      const call: UpstreamCall = { text, arrivedAt: performance.now(), endedAt: 0, closedAt: 0, cut: false };
      calls.push(call);
      res.on('close', () => {
        call.closedAt = performance.now();
        call.cut = !res.writableFinished;
      });
      const ending = nextEnding.get(text) ?? 'complete';
      nextEnding.delete(text);
      void answer(res, call, ending, body.stream_options?.include_usage === true).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  gateway = await startGateway({
    config: `
providers:
  openai: { type: openai, base_url: ${url}, api_key: sk-upstream-coalesce-streams }
models:
  fast: { provider: openai, model: gpt-4o-mini }
router:
  circuit: { failures: 100 }
cache:
  enabled: true
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await new Promise<void>((resolve) => {
    upstream?.close(() => resolve());
    upstream?.closeAllConnections();
  });
});

interface Received {
  readonly status: number;
  readonly cache: string | null;
  readonly startedAt: number;
  /** Each `data:` event's payload with when it arrived. */
  readonly events: { readonly at: number; readonly data: string }[];
  /** The whole body as it came. */
  readonly raw: string;
}

const callsFor = (text: string): UpstreamCall[] => calls.filter((call) => call.text === text);

/** A streaming chat request, read event by event as it arrives. */
async function streamChat(
  text: string,
  options: { includeUsage?: boolean; signal?: AbortSignal; requestId?: string } = {},
): Promise<Received> {
  const startedAt = performance.now();
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: 'Bearer tenant-a',
      ...(options.requestId === undefined ? {} : { 'x-request-id': options.requestId }),
    },
    body: JSON.stringify({
      model: 'fast',
      temperature: 0,
      stream: true,
      ...(options.includeUsage === true ? { stream_options: { include_usage: true } } : {}),
      messages: [{ role: 'user', content: text }],
    }),
    signal: options.signal ?? null,
  });
  const events: { at: number; data: string }[] = [];
  let raw = '';
  let pending = '';
  const decoder = new TextDecoder();
  for await (const part of response.body ?? []) {
    const at = performance.now();
    const piece = decoder.decode(part as Uint8Array, { stream: true });
    raw += piece;
    pending += piece;
    let end: number;
    while ((end = pending.indexOf('\n\n')) !== -1) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const data = /^data: ?(.*)$/m.exec(event)?.[1];
      if (data !== undefined) events.push({ at, data });
    }
  }
  return { status: response.status, cache: response.headers.get('x-lightport-cache'), startedAt, events, raw };
}

interface Chunk {
  choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
  usage?: unknown;
  error?: { message?: string; code?: string };
}

const parsed = (received: Received): Chunk[] =>
  received.events.filter((event) => event.data !== '[DONE]').map((event) => JSON.parse(event.data) as Chunk);
const contentOf = (received: Received): string =>
  parsed(received).reduce((text, chunk) => text + (chunk.choices?.[0]?.delta?.content ?? ''), '');
const firstContentAt = (received: Received): number =>
  received.events.find((event) => event.data !== '[DONE]' && (JSON.parse(event.data) as Chunk).choices?.[0]?.delta?.content)?.at ??
  Number.POSITIVE_INFINITY;
const usageOf = (received: Received): unknown => parsed(received).find((chunk) => chunk.usage !== undefined && chunk.usage !== null)?.usage;
const lastData = (received: Received): string | undefined => received.events.at(-1)?.data;

interface AccessLine {
  readonly request_id: string;
  readonly status: number;
  readonly completed: boolean;
  readonly cache?: string;
  readonly usage?: unknown;
  readonly error?: string;
}

/** The request's access-log line, once the gateway has written it (after the request settled: limits, observers). */
async function accessLine(requestId: string): Promise<AccessLine | undefined> {
  for (let tries = 0; tries < 40; tries++) {
    const line = gateway
      .output()
      .stdout.split('\n')
      .find((text) => text.includes('"msg":"request"') && text.includes(`"request_id":"${requestId}"`));
    if (line !== undefined) return JSON.parse(line) as AccessLine;
    await sleep(25);
  }
  return undefined;
}

describe('coalesced streaming misses', () => {
  it('streams the leader’s answer live to each waiter, from its beginning, with one upstream call', async () => {
    const text = 'follow the leader live';
    const leader = streamChat(text, { includeUsage: true });
    await sleep(50);
    // Waits before the first byte, and asks for no usage.
    const early = streamChat(text);
    await sleep(EVENT_GAP_MS * 4);
    // Joins once the leader has sent its first words: they are replayed to it at once.
    const late = streamChat(text, { includeUsage: true });
    const [first, ...waiters] = await Promise.all([leader, early, late]);
    const [call, ...others] = callsFor(text);
    expect(others).toEqual([]);
    expect(first?.cache).toBe('miss');
    expect(contentOf(first as Received)).toBe(WORDS.join(''));
    expect(lastData(first as Received)).toBe('[DONE]');
    for (const waiter of waiters) {
      expect(waiter.status).toBe(200);
      expect(waiter.cache).toBe('hit-coalesced');
      expect(contentOf(waiter)).toBe(WORDS.join(''));
      expect(parsed(waiter).at(-1)?.choices?.[0]?.finish_reason ?? parsed(waiter).at(-2)?.choices?.[0]?.finish_reason).toBe('stop');
      expect(lastData(waiter)).toBe('[DONE]');
      // Its first words arrived as the upstream sent them, long before the upstream's stream ended.
      expect(firstContentAt(waiter)).toBeLessThan((call?.endedAt ?? 0) - EVENT_GAP_MS * 3);
    }
    const [earlyWaiter, lateWaiter] = waiters as [Received, Received];
    // The same events as the leader's, each shaped for its own request: usage only for those who asked.
    expect(usageOf(earlyWaiter)).toBeUndefined();
    expect(usageOf(lateWaiter)).toEqual(USAGE);
    expect(usageOf(first as Received)).toEqual(USAGE);
    // The late one got what it had missed in one go, at once.
    expect(firstContentAt(lateWaiter) - lateWaiter.startedAt).toBeLessThan(EVENT_GAP_MS);
    // The answer was stored as well.
    expect((await streamChat(text)).cache).toBe('hit-exact');
    expect(callsFor(text)).toHaveLength(1);
  });

  it('gives a waiter that asked for usage a usage chunk when the leader did not ask for one', async () => {
    const text = 'usage for the waiter only';
    const leader = streamChat(text);
    await sleep(EVENT_GAP_MS * 3);
    const waiter = await streamChat(text, { includeUsage: true });
    const first = await leader;
    expect(callsFor(text)).toHaveLength(1);
    expect(usageOf(first)).toBeUndefined();
    expect(waiter.cache).toBe('hit-coalesced');
    expect(contentOf(waiter)).toBe(contentOf(first));
    expect(usageOf(waiter)).toEqual(USAGE);
    expect(lastData(waiter)).toBe('[DONE]');
  });

  it('replays the usage the upstream reported to later hits, though the stored stream had no usage chunk', async () => {
    const text = 'usage for the hits';
    // The leader asks for no usage: its stream has no usage chunk, but the upstream reported one to the gateway.
    const first = await streamChat(text);
    expect(usageOf(first)).toBeUndefined();
    const hit = await streamChat(text, { includeUsage: true });
    expect(hit.cache).toBe('hit-exact');
    expect(usageOf(hit)).toEqual(USAGE);
    expect(lastData(hit)).toBe('[DONE]');
    const json = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer tenant-a' },
      body: JSON.stringify({ model: 'fast', temperature: 0, messages: [{ role: 'user', content: text }] }),
    });
    expect(json.headers.get('x-lightport-cache')).toBe('hit-exact');
    const body = (await json.json()) as { usage?: unknown; choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe(WORDS.join(''));
    expect(body.usage).toEqual(USAGE);
    expect(callsFor(text)).toHaveLength(1);
  });

  it('ends the waiters of a leader cut mid-stream with the leader’s own error event, never as complete; nothing is stored', async () => {
    const text = 'the leader is cut';
    nextEnding.set(text, 'cut');
    const leader = streamChat(text);
    await sleep(50);
    const early = streamChat(text);
    await sleep(EVENT_GAP_MS * 3);
    const late = streamChat(text);
    const [first, ...waiters] = await Promise.all([leader, early, late]);
    expect(callsFor(text)).toHaveLength(1);
    const ending = parsed(first as Received).at(-1);
    expect(ending?.error?.code).toBe('upstream_error');
    expect(lastData(first as Received)).not.toBe('[DONE]');
    for (const waiter of waiters) {
      expect(waiter.cache).toBe('hit-coalesced');
      expect(contentOf(waiter)).toBe(contentOf(first as Received));
      expect(waiter.raw).not.toContain('[DONE]');
      expect(lastData(waiter)).toBe(lastData(first as Received));
    }
    // Not stored: the next one goes upstream, and is answered in full.
    const again = await streamChat(text);
    expect(again.cache).toBe('miss');
    expect(contentOf(again)).toBe(WORDS.join(''));
    expect(callsFor(text)).toHaveLength(2);
  });

  it('passes the upstream’s own error event to the waiters as the leader gets it, and ends there', async () => {
    const text = 'the model fails mid-answer';
    nextEnding.set(text, 'error');
    const leader = streamChat(text);
    await sleep(EVENT_GAP_MS * 3);
    const waiter = await streamChat(text);
    const first = await leader;
    expect(callsFor(text)).toHaveLength(1);
    expect(parsed(first).at(-1)?.error?.code).toBe('model_error');
    expect(waiter.cache).toBe('hit-coalesced');
    expect(waiter.raw).toBe(first.raw);
  });

  it('sends the waiters upstream alone when the leader fails before its first byte', async () => {
    const text = 'the leader is refused';
    nextEnding.set(text, 'refuse');
    const leader = streamChat(text);
    await sleep(50);
    const waiters = await Promise.all([streamChat(text), streamChat(text)]);
    expect((await leader).status).toBe(500);
    for (const waiter of waiters) {
      expect(waiter.status).toBe(200);
      expect(waiter.cache).toBe('miss');
      expect(contentOf(waiter)).toBe(WORDS.join(''));
    }
    expect(callsFor(text)).toHaveLength(3);
  });

  it('keeps the upstream call going for the followers when the leader’s own client leaves mid-stream, and stores the answer', async () => {
    const text = 'the leader leaves';
    const leaving = new AbortController();
    const leader = streamChat(text, { signal: leaving.signal, requestId: 'leader-leaves' }).then(
      () => 'completed',
      () => 'aborted',
    );
    await sleep(50);
    const follower = streamChat(text, { includeUsage: true });
    await sleep(EVENT_GAP_MS * 4);
    leaving.abort();
    expect(await leader).toBe('aborted');
    const waiter = await follower;
    // The leader's request is over as one whose client left, but it pays for the call carried on for its follower:
    // it is settled (its limits, its log line) once that call has ended, with its usage.
    const line = await accessLine('leader-leaves');
    expect(line).toMatchObject({ status: 200, completed: false, cache: 'miss', usage: USAGE });
    expect(line?.error).toBeUndefined();
    const [call, ...others] = callsFor(text);
    expect(others).toEqual([]);
    // The upstream was not cut: it sent its whole stream.
    expect(call?.endedAt).toBeGreaterThan(0);
    expect(call?.cut).toBe(false);
    expect(waiter.cache).toBe('hit-coalesced');
    expect(contentOf(waiter)).toBe(WORDS.join(''));
    expect(parsed(waiter).some((chunk) => chunk.error !== undefined)).toBe(false);
    expect(usageOf(waiter)).toEqual(USAGE);
    expect(lastData(waiter)).toBe('[DONE]');
    // Stored as any complete answer is: the next identical request is a hit.
    expect((await streamChat(text)).cache).toBe('hit-exact');
    expect(callsFor(text)).toHaveLength(1);
  });

  it('still aborts the upstream call at once when the leader’s client leaves and nobody follows it', async () => {
    const text = 'the leader leaves alone';
    const leaving = new AbortController();
    const leader = streamChat(text, { signal: leaving.signal }).then(
      () => 'completed',
      () => 'aborted',
    );
    await sleep(EVENT_GAP_MS * 4);
    const leftAt = performance.now();
    leaving.abort();
    expect(await leader).toBe('aborted');
    await sleep(EVENT_GAP_MS);
    const [call, ...others] = callsFor(text);
    expect(others).toEqual([]);
    expect(call?.cut).toBe(true);
    expect((call?.closedAt ?? Number.POSITIVE_INFINITY) - leftAt).toBeLessThan(EVENT_GAP_MS);
    // Nothing was stored.
    expect((await streamChat(text)).cache).toBe('miss');
    expect(callsFor(text)).toHaveLength(2);
  });

  it('aborts the upstream call once the leader’s client and then its last follower have left', async () => {
    const text = 'everyone leaves';
    const leaderLeaving = new AbortController();
    const followerLeaving = new AbortController();
    const settle = (promise: Promise<Received>): Promise<string> =>
      promise.then(
        () => 'completed',
        () => 'aborted',
      );
    const leader = settle(streamChat(text, { signal: leaderLeaving.signal }));
    await sleep(50);
    const follower = settle(streamChat(text, { signal: followerLeaving.signal }));
    await sleep(EVENT_GAP_MS * 3);
    leaderLeaving.abort();
    expect(await leader).toBe('aborted');
    await sleep(EVENT_GAP_MS * 2);
    const [call] = callsFor(text);
    // Still going for the follower.
    expect(call?.closedAt).toBe(0);
    const leftAt = performance.now();
    followerLeaving.abort();
    expect(await follower).toBe('aborted');
    await sleep(EVENT_GAP_MS);
    expect(call?.cut).toBe(true);
    expect((call?.closedAt ?? Number.POSITIVE_INFINITY) - leftAt).toBeLessThan(EVENT_GAP_MS);
    expect((await streamChat(text)).cache).toBe('miss');
    expect(callsFor(text)).toHaveLength(2);
  });

  it('lets a waiter leave mid-stream without disturbing the leader or the other waiters', async () => {
    const text = 'one waiter leaves';
    const leader = streamChat(text, { includeUsage: true });
    await sleep(50);
    const leaving = new AbortController();
    const left = streamChat(text, { signal: leaving.signal }).then(
      () => 'completed',
      () => 'aborted',
    );
    const stays = streamChat(text, { includeUsage: true });
    await sleep(EVENT_GAP_MS * 4);
    leaving.abort();
    expect(await left).toBe('aborted');
    const [first, other] = await Promise.all([leader, stays]);
    expect(callsFor(text)).toHaveLength(1);
    expect(first.cache).toBe('miss');
    expect(other.cache).toBe('hit-coalesced');
    for (const received of [first, other]) {
      expect(contentOf(received)).toBe(WORDS.join(''));
      expect(usageOf(received)).toEqual(USAGE);
      expect(lastData(received)).toBe('[DONE]');
    }
    expect(other.raw).toBe(first.raw);
  });
});
