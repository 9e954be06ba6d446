import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { ANTHROPIC_KEY, anthropicDialect } from '../fakes/providers/anthropic.ts';
import { startFakeProvider, type FakeProvider } from '../fakes/providers/harness.ts';
import { accessLogLine } from '../support/access-log.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { scrape } from '../support/prometheus.ts';

// Streams the upstream ends cleanly (the body ends normally) before their final event: no
// `data: [DONE]` and no finish_reason (OpenAI format), no `message_stop` (Anthropic, relayed as it
// is). They were cut all the same, and must be handled as a stream reset mid-way is.

/** One failure opens a circuit, for a short while: a cut stream must count as a failure. */
const OPEN_MS = 1000;

let openaiFake: OpenAIUpstream;
let anthropicFake: FakeProvider;
let gateway: GatewayProcess;

beforeAll(async () => {
  [openaiFake, anthropicFake] = await Promise.all([startOpenAIUpstream(), startFakeProvider(anthropicDialect, '/v1')]);
  gateway = await startGateway({
    config: `
providers:
  openai: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-unfinished }
  openai-empty: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-unfinished }
  claude: { type: anthropic, base_url: ${anthropicFake.url}, api_key: ${ANTHROPIC_KEY} }
models:
  fast: { provider: openai, model: gpt-4o-mini }
  fallback: { strategy: fallback, targets: [openai-empty/gpt-4o-mini, openai/gpt-4o-mini] }
  sonnet-unfinished: { provider: claude, model: fake-unfinished }
router:
  circuit: { failures: 1, open_ms: ${OPEN_MS}, min_requests: 1000 }
cache: { enabled: true }
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([openaiFake?.close(), anthropicFake?.close()]);
});

interface Answer {
  readonly status: number;
  readonly requestId: string;
  readonly cache: string | null;
  readonly provider: string | null;
  readonly fallbackReason: string | null;
  readonly text: string;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    requestId: response.headers.get('x-request-id') ?? '',
    cache: response.headers.get('x-lightport-cache'),
    provider: response.headers.get('x-lightport-provider'),
    fallbackReason: response.headers.get('x-lightport-fallback-reason'),
    text: await response.text(),
  };
}

const chat = (question: string) =>
  post('/v1/chat/completions', { model: 'fast', stream: true, temperature: 0, messages: [{ role: 'user', content: question }] });

/** The data of each event of an SSE body, in order. */
const eventData = (text: string): string[] =>
  text
    .split('\n\n')
    .filter(Boolean)
    .map((event) => /^data: (.*)$/m.exec(event)?.[1] ?? '');

/** The circuit of the request's only target is open: the gateway refuses at once. */
const expectOpenCircuit = (answer: Answer): void => {
  expect(answer.status).toBe(503);
  expect(answer.fallbackReason).toBe('circuit_open');
};

describe('an OpenAI-format stream that ends without [DONE] or a finish_reason', () => {
  it('ends with an error event, is recorded as failed, counts as a failure of the target, and is never cached', async () => {
    openaiFake.setFault({ kind: 'end_after_chunks', chunks: 3 }, 1);
    const cut = await chat('a question whose answer is cut');
    expect(cut.status).toBe(200);
    const events = eventData(cut.text);
    expect(events.slice(0, 3).every((data) => data.startsWith('{"id"'))).toBe(true);
    expect(JSON.parse(events.at(-1) ?? '')).toMatchObject({
      error: { code: 'upstream_error', message: expect.stringMatching(/ended before its final event/) as string },
    });
    expect(cut.text).not.toContain('[DONE]');
    expectOpenCircuit(await chat('any question, while the circuit is open'));

    const line = await accessLogLine(gateway, cut.requestId);
    expect(line).toMatchObject({ provider: 'openai', streaming: true, error: 'upstream_error' });
    const metrics = await scrape(`${gateway.url}/metrics`);
    expect(metrics.value('lightport_streams_interrupted_total', { provider: 'openai', reason: 'upstream_error' })).toBe(1);
    expect(metrics.value('lightport_upstream_errors_total', { provider: 'openai', class: 'broken' })).toBe(1);

    await sleep(OPEN_MS + 100);
    const calls = openaiFake.chatRequests();
    const again = await chat('a question whose answer is cut');
    expect(again.cache).toBe('miss');
    expect(openaiFake.chatRequests()).toBe(calls + 1);
    expect(eventData(again.text).at(-1)).toBe('[DONE]');
  });

  it('is complete, and cached, when it ends without [DONE] after a finish_reason', async () => {
    openaiFake.setFault({ kind: 'omit_done' }, 1);
    const first = await chat('a question answered with no end marker');
    expect(first.status).toBe(200);
    expect(first.cache).toBe('miss');
    expect(first.text).not.toContain('[DONE]');
    expect(first.text).not.toContain('"error"');
    expect(first.text).toContain('"finish_reason":"stop"');
    const line = await accessLogLine(gateway, first.requestId);
    expect(line['error']).toBeUndefined();

    const calls = openaiFake.chatRequests();
    const second = await chat('a question answered with no end marker');
    expect(second.cache).toBe('hit-exact');
    expect(openaiFake.chatRequests()).toBe(calls);
    expect(second.text).toContain('You said: a question answered with no end marker');
    expect(eventData(second.text).at(-1)).toBe('[DONE]');
  });

  it('falls back when it ended before sending anything, since the caller has seen nothing', async () => {
    openaiFake.setFault({ kind: 'end_after_chunks', chunks: 0 }, 1);
    const answer = await post('/v1/chat/completions', {
      model: 'fallback',
      stream: true,
      messages: [{ role: 'user', content: 'anyone there?' }],
    });
    expect(answer.status).toBe(200);
    expect(answer.provider).toBe('openai');
    expect(answer.fallbackReason).toBe('unreachable');
    const events = eventData(answer.text);
    expect(events.at(-1)).toBe('[DONE]');
    const content = events
      .slice(0, -1)
      .map((data) => (JSON.parse(data) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
      .join('');
    expect(content).toBe('You said: anyone there?');
  });
});

describe('an Anthropic stream relayed as it is that ends before message_stop', () => {
  const ask = () =>
    post(
      '/v1/messages',
      { model: 'sonnet-unfinished', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'cut me short' }] },
      { 'anthropic-version': '2023-06-01' },
    );

  it("ends with Anthropic's error event, is recorded as failed, counts as a failure of the target, and is never cached", async () => {
    const cut = await ask();
    expect(cut.status).toBe(200);
    expect(cut.text).toContain('event: message_delta');
    expect(cut.text).not.toContain('message_stop');
    const last = cut.text.split('\n\n').filter(Boolean).at(-1) ?? '';
    expect(last.startsWith('event: error\n')).toBe(true);
    expect(JSON.parse(/^data: (.*)$/m.exec(last)?.[1] ?? '')).toMatchObject({
      type: 'error',
      error: { type: 'api_error', message: expect.stringMatching(/ended before its final event/) as string },
    });
    expectOpenCircuit(await ask());

    const line = await accessLogLine(gateway, cut.requestId);
    expect(line).toMatchObject({ provider: 'claude', streaming: true, error: 'upstream_error' });
    const metrics = await scrape(`${gateway.url}/metrics`);
    expect(metrics.value('lightport_streams_interrupted_total', { provider: 'claude', reason: 'upstream_error' })).toBe(1);
    expect(metrics.value('lightport_upstream_errors_total', { provider: 'claude', class: 'broken' })).toBe(1);

    await sleep(OPEN_MS + 100);
    const calls = anthropicFake.requests.length;
    const again = await ask();
    expect(again.status).toBe(200);
    expect(again.cache ?? 'not cached').not.toMatch(/^hit/);
    expect(anthropicFake.requests.length).toBe(calls + 1);
    expect(again.text.split('\n\n').filter(Boolean).at(-1)).toMatch(/^event: error\n/);
  });
});
