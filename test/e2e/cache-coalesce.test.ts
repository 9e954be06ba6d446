import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { FAULTS } from '../fakes/upstream-faults.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

/** How long the upstream takes to answer: identical requests sent meanwhile find the first in flight. */
const UPSTREAM_DELAY_MS = 600;
const N = 5;

interface Call {
  readonly arrivedAt: number;
  finishedAt: number;
}

/** The fake OpenAI upstream behind a proxy that answers each request only after a delay, noting when each call came and went. */
interface SlowUpstream {
  readonly url: string;
  readonly calls: Call[];
  close(): Promise<void>;
}

async function startSlowUpstream(fake: OpenAIUpstream): Promise<SlowUpstream> {
  const origin = new URL(fake.url).origin;
  const calls: Call[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const call: Call = { arrivedAt: performance.now(), finishedAt: 0 };
      if (req.url?.endsWith('/chat/completions') === true) calls.push(call);
      void sleep(UPSTREAM_DELAY_MS)
        .then(() =>
          fetch(`${origin}${req.url ?? '/'}`, {
            method: req.method ?? 'POST',
            headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
            body: Buffer.concat(parts),
          }),
        )
        .then(async (answer) => {
          const body = await answer.text();
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          res.end(body);
          call.finishedAt = performance.now();
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const config = (coalesce: boolean) => `
providers:
  openai: { type: openai, api_key: "\${OPENAI_API_KEY}", base_url: "\${OPENAI_BASE_URL}" }
models:
  fast: { provider: openai, model: gpt-4o-mini }
cache:
  enabled: true
  coalesce: ${coalesce}
`;

let fake: OpenAIUpstream;
let upstream: SlowUpstream;
let coalescing: GatewayProcess;
let separate: GatewayProcess;

beforeAll(async () => {
  fake = await startOpenAIUpstream();
  upstream = await startSlowUpstream(fake);
  const env = { OPENAI_API_KEY: 'sk-upstream', OPENAI_BASE_URL: upstream.url };
  [coalescing, separate] = await Promise.all([startGateway({ config: config(true), env }), startGateway({ config: config(false), env })]);
});

afterAll(async () => {
  await Promise.all([coalescing?.stop(), separate?.stop()]);
  await upstream?.close();
  await fake?.close();
});

const clientOf = (gateway: GatewayProcess) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'tenant-a', maxRetries: 0 });

const question = (text: string) => ({ model: 'fast', temperature: 0, messages: [{ role: 'user' as const, content: text }] });

async function askJson(gateway: GatewayProcess, text: string): Promise<{ cache: string | null; content: string }> {
  const { data, response } = await clientOf(gateway).chat.completions.create(question(text)).withResponse();
  return { cache: response.headers.get('x-lightport-cache'), content: data.choices[0]?.message.content ?? '' };
}

async function askStream(gateway: GatewayProcess, text: string): Promise<{ cache: string | null; content: string; finish: string | null }> {
  const { data, response } = await clientOf(gateway)
    .chat.completions.create({ ...question(text), stream: true, stream_options: { include_usage: true } })
    .withResponse();
  let content = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of data) {
    content += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  expect(usage?.total_tokens).toBeGreaterThan(0);
  return { cache: response.headers.get('x-lightport-cache'), content, finish };
}

describe('coalesced misses', () => {
  it('sends N concurrent identical requests upstream once: the others are served its answer', async () => {
    const before = upstream.calls.length;
    const answers = await Promise.all(Array.from({ length: N }, () => askJson(coalescing, 'coalesce me')));
    expect(upstream.calls.length - before).toBe(1);
    expect(answers.map((answer) => answer.cache).toSorted()).toEqual(['miss', ...Array<string>(N - 1).fill('hit-coalesced')].toSorted());
    expect(new Set(answers.map((answer) => answer.content)).size).toBe(1);
    expect(answers[0]?.content).toContain('coalesce me');
    expect((await askJson(coalescing, 'coalesce me')).cache).toBe('hit-exact');
  });

  it('sends each of them upstream with cache.coalesce off', async () => {
    const before = upstream.calls.length;
    const answers = await Promise.all(Array.from({ length: N }, () => askJson(separate, 'coalesce me')));
    expect(upstream.calls.length - before).toBe(N);
    expect(answers.map((answer) => answer.cache)).toEqual(Array<string>(N).fill('miss'));
  });

  it('never hands a failing leader’s error to the requests waiting for it: each goes upstream alone', async () => {
    fake.setFault(FAULTS.serverError(), 1);
    const before = upstream.calls.length;
    const leader = askJson(coalescing, 'the leader fails').then(
      () => 'answered',
      (error: unknown) => (error instanceof OpenAI.APIError ? error.status : error),
    );
    await sleep(100);
    const waiters = await Promise.all(Array.from({ length: N - 1 }, () => askJson(coalescing, 'the leader fails')));
    expect(await leader).toBe(500);
    for (const waiter of waiters) {
      expect(waiter.cache).toBe('miss');
      expect(waiter.content).toContain('the leader fails');
    }
    const calls = upstream.calls.slice(before);
    expect(calls.length).toBe(N);
    const [first, ...others] = calls;
    // They waited: none went upstream before the leader's call had come back.
    for (const call of others) expect(call.arrivedAt).toBeGreaterThanOrEqual(first?.finishedAt ?? Number.POSITIVE_INFINITY);
  });

  it('serves a streamed leader’s answer to streaming and JSON waiters alike', async () => {
    const before = upstream.calls.length;
    const leader = askStream(coalescing, 'stream for everyone');
    await sleep(100);
    const [streamed, alsoStreamed, json, alsoJson] = await Promise.all([
      askStream(coalescing, 'stream for everyone'),
      askStream(coalescing, 'stream for everyone'),
      askJson(coalescing, 'stream for everyone'),
      askJson(coalescing, 'stream for everyone'),
    ]);
    const first = await leader;
    expect(first.cache).toBe('miss');
    expect(first.finish).toBe('stop');
    expect(first.content).toContain('stream for everyone');
    for (const waiter of [streamed, alsoStreamed]) {
      expect(waiter).toEqual({ cache: 'hit-coalesced', content: first.content, finish: 'stop' });
    }
    for (const waiter of [json, alsoJson]) expect(waiter).toEqual({ cache: 'hit-coalesced', content: first.content });
    expect(upstream.calls.length - before).toBe(1);
  });

  it('lets a waiter whose client leaves stop waiting; the others are still served', async () => {
    const before = upstream.calls.length;
    const leader = askJson(coalescing, 'one leaves');
    await sleep(100);
    const leaving = new AbortController();
    const left = clientOf(coalescing)
      .chat.completions.create(question('one leaves'), { signal: leaving.signal })
      .then(
        () => 'answered',
        () => 'aborted',
      );
    const stays = askJson(coalescing, 'one leaves');
    await sleep(100);
    leaving.abort();
    expect(await left).toBe('aborted');
    expect((await stays).cache).toBe('hit-coalesced');
    expect((await leader).cache).toBe('miss');
    expect(upstream.calls.length - before).toBe(1);
  });
});
