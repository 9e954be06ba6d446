import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePacedChatStream } from '../fakes/paced-chat-stream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

// A coalesced streaming leader whose client leaves while another request follows its stream: the
// upstream call goes on for the follower, and the leader's request pays for it once it ends (its
// usage and cost logged, its key's tokens and budget charged), though its client never saw the end.

const PAYER = 'lp-test-coalesce-payer-0001';
const FRIEND = 'lp-test-coalesce-friend-002';
const SAVER = 'lp-test-cache-hit-saver-003';
const ADMIN = 'test-admin-key-0123456789';
const EVENT_GAP_MS = 150;
const WORDS = ['Someone ', 'pays ', 'for ', 'every ', 'token ', 'streamed.'];
/** What the upstream reports for every answer: 410 tokens, $0.41 at $1000 per million. */
const USAGE = { prompt_tokens: 10, completion_tokens: 400, total_tokens: 410 };
const COST = 0.41;
const TPM = 2000;

interface UpstreamCall {
  readonly text: string;
  /** When the upstream wrote the stream's last byte; 0 until then. */
  endedAt: number;
  cut: boolean;
}

let upstream: Server;
let gateway: GatewayProcess;
const calls: UpstreamCall[] = [];

async function answer(res: ServerResponse, call: UpstreamCall, stream: boolean, includeUsage: boolean): Promise<void> {
  const id = `chatcmpl-${calls.length}`;
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: WORDS.join('') }, finish_reason: 'stop' }],
        usage: USAGE,
      }),
    );
    call.endedAt = performance.now();
    return;
  }
  await writePacedChatStream(res, { id, words: WORDS, gapMs: EVENT_GAP_MS, usage: USAGE, includeUsage });
  call.endedAt = performance.now();
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as {
        stream?: boolean;
        messages: { content: string }[];
        stream_options?: { include_usage?: boolean };
      };
      const call: UpstreamCall = { text: body.messages.at(-1)?.content ?? '', endedAt: 0, cut: false };
      calls.push(call);
      res.on('close', () => (call.cut = !res.writableFinished));
      void answer(res, call, body.stream === true, body.stream_options?.include_usage === true).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  const state = join(mkdtempSync(join(tmpdir(), 'lp-coalesce-billing-')), 'state.db');
  gateway = await startGateway({
    config: `
providers:
  openai: { type: openai, base_url: ${url}, api_key: sk-upstream-coalesce-billing }
models:
  fast: { provider: openai, model: gpt-4o-mini }
router:
  circuit: { failures: 100 }
cache:
  enabled: true
  defaults: { per_key: false }
pricing:
  models: { "openai/gpt-4o-mini": { input_per_mtok: 1000, output_per_mtok: 1000 } }
# The budgets' own fallback prices, for an answer the catalog did not price (a cache hit's, say).
budgets: { prices: { "*": { input_per_million: 1000, output_per_million: 1000 } } }
admin: { key: ${ADMIN} }
limits: { headers: all }
auth:
  enabled: true
  keys:
    - { name: payer, key: ${PAYER}, limits: { tokens_per_minute: ${TPM} }, budgets: [{ usd: 100, period: day }] }
    - { name: friend, key: ${FRIEND} }
    - { name: saver, key: ${SAVER}, limits: { tokens_per_minute: ${TPM} }, budgets: [{ usd: 100, period: day }] }
state:
  store: { type: sqlite, path: ${state} }
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

/** A streaming chat request read to its end; 'aborted' when `signal` fired first. */
async function streamChat(key: string, text: string, options: { signal?: AbortSignal; requestId?: string } = {}): Promise<string> {
  try {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${key}`,
        ...(options.requestId === undefined ? {} : { 'x-request-id': options.requestId }),
      },
      body: JSON.stringify({ model: 'fast', temperature: 0, stream: true, messages: [{ role: 'user', content: text }] }),
      signal: options.signal ?? null,
    });
    return await response.text();
  } catch {
    return 'aborted';
  }
}

/** The payer's tokens left this minute, as a small JSON request of its own (not cacheable: no temperature 0) reports them. */
async function tokensLeft(key = PAYER): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-lightport-cache': 'no-store' },
    body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: `probe ${performance.now()}` }] }),
  });
  await response.text();
  expect(response.status).toBe(200);
  return Number(response.headers.get('x-ratelimit-remaining-tokens'));
}

async function payerSpend(name = 'payer'): Promise<number> {
  const response = await fetch(`${gateway.url}/admin/spend`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const rows = ((await response.json()) as { data: Array<{ scope: string; name: string; period: string; usd: number }> }).data;
  return rows.find((row) => row.scope === 'key' && row.name === name && row.period.startsWith('day'))?.usd ?? 0;
}

interface AccessLine {
  readonly status: number;
  readonly completed: boolean;
  readonly cache?: string;
  readonly key?: string;
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number; readonly total_tokens?: number };
  readonly cost_usd?: number;
  readonly error?: string;
}

function accessLine(requestId: string): AccessLine | undefined {
  const line = gateway
    .output()
    .stdout.split('\n')
    .find((text) => text.includes('"msg":"request"') && text.includes(`"request_id":"${requestId}"`));
  return line === undefined ? undefined : (JSON.parse(line) as AccessLine);
}

async function waitForAccessLine(requestId: string): Promise<AccessLine | undefined> {
  for (let tries = 0; tries < 80; tries++) {
    const line = accessLine(requestId);
    if (line !== undefined) return line;
    await sleep(25);
  }
  return undefined;
}

describe('a coalesced leader whose client leaves while others follow', () => {
  it('pays for the upstream call carried on for its followers: usage, cost, tokens and budget', async () => {
    const text = 'the payer leaves';
    const spentBefore = await payerSpend();
    const leftBefore = await tokensLeft();
    const probedAt = performance.now();
    const leaving = new AbortController();
    const leader = streamChat(PAYER, text, { signal: leaving.signal, requestId: 'payer-leaves' });
    await sleep(50);
    const follower = streamChat(FRIEND, text, { requestId: 'friend-follows' });
    await sleep(EVENT_GAP_MS * 4);
    leaving.abort();
    expect(await leader).toBe('aborted');
    const followed = await follower;
    expect(followed).toContain('data: [DONE]');
    const [call, ...others] = calls.filter((one) => one.text === text);
    expect(others).toEqual([]);
    expect(call?.endedAt).toBeGreaterThan(0);
    expect(call?.cut).toBe(false);

    // The leader's request is logged as one whose client left, with what the carried call used and its price.
    const line = await waitForAccessLine('payer-leaves');
    expect(line).toMatchObject({ status: 200, completed: false, cache: 'miss', key: 'payer', usage: USAGE });
    expect(line?.cost_usd).toBeCloseTo(COST, 9);
    expect(line?.error).toBeUndefined();
    // The follower, a hit, costs nothing: the call is billed once.
    expect((await waitForAccessLine('friend-follows'))?.cache).toBe('hit-coalesced');
    expect((await waitForAccessLine('friend-follows'))?.cost_usd).toBeUndefined();

    // The payer's key was charged for it: its budget, and its tokens this minute.
    expect((await payerSpend()) - spentBefore).toBeGreaterThan(COST * 2 - 1e-9); // the carried call, and the probe before it
    expect((await payerSpend()) - spentBefore).toBeLessThan(COST * 2 + 1e-9);
    const left = await tokensLeft();
    const refill = ((performance.now() - probedAt) * TPM) / 60_000;
    // Since the first probe was admitted on its estimate: its usage (410), the carried call's (410) and the second probe's
    // estimate, each less the small estimates already counted, and the bucket's refill since. Without the carried call's
    // usage, about 410 more would be left.
    expect(left).toBeLessThan(leftBefore - 2 * USAGE.total_tokens + refill + 60);
    expect(left).toBeGreaterThan(leftBefore - 2 * USAGE.total_tokens - 60);
  });

  it('settles a leader nobody follows as before: at once, with the upstream call cut and nothing to pay', async () => {
    const text = 'the payer leaves alone';
    const spentBefore = await payerSpend();
    const leaving = new AbortController();
    const leader = streamChat(PAYER, text, { signal: leaving.signal, requestId: 'payer-leaves-alone' });
    await sleep(EVENT_GAP_MS * 4);
    leaving.abort();
    expect(await leader).toBe('aborted');
    const line = await waitForAccessLine('payer-leaves-alone');
    const [call] = calls.filter((one) => one.text === text);
    // Logged before the upstream would have ended its stream: it was cut.
    expect(call?.endedAt).toBe(0);
    expect(line).toMatchObject({ status: 200, completed: false, cache: 'miss', key: 'payer' });
    expect(line?.usage).toBeUndefined();
    expect(line?.cost_usd).toBeUndefined();
    await sleep(100);
    expect(call?.cut).toBe(true);
    expect(await payerSpend()).toBeCloseTo(spentBefore, 9);
  });
});

describe('a cache hit', () => {
  it('costs its key nothing: no budget spend, and its token estimate is given back', async () => {
    const text = 'asked twice by the saver';
    await streamChat(SAVER, text, { requestId: 'saver-first' });
    expect((await waitForAccessLine('saver-first'))?.cache).toBe('miss');
    const spentBefore = await payerSpend('saver');
    const leftBefore = await tokensLeft(SAVER);
    const probedAt = performance.now();
    const spentAfterProbe = await payerSpend('saver');

    await streamChat(SAVER, text, { requestId: 'saver-hit' });
    const hit = await waitForAccessLine('saver-hit');
    expect(hit?.cache).toBe('hit-exact');
    expect(hit?.cost_usd).toBeUndefined();
    // The hit paid no upstream: the budget moved only by the probe's own call.
    expect(spentAfterProbe - spentBefore).toBeCloseTo(COST, 9);
    expect(await payerSpend('saver')).toBeCloseTo(spentAfterProbe, 9);
    // And took no tokens: only the next probe's own usage since the last one (and the refill).
    const left = await tokensLeft(SAVER);
    const refill = ((performance.now() - probedAt) * TPM) / 60_000;
    expect(left).toBeGreaterThan(leftBefore - USAGE.total_tokens - 60);
    expect(left).toBeLessThan(leftBefore - USAGE.total_tokens + refill + 60);
  });
});
