import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { STREAM_ERROR } from '../fakes/upstream-faults.ts';
import { ANTHROPIC_KEY, anthropicDialect } from '../fakes/providers/anthropic.ts';
import { startFakeProvider, type FakeProvider } from '../fakes/providers/harness.ts';
import { accessLogLine } from '../support/access-log.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { scrape } from '../support/prometheus.ts';

// Streams the upstream ends cleanly (the body ends normally) before their final event: no
// `data: [DONE]` and no finish_reason (OpenAI format), no `message_stop` (Anthropic, relayed as it
// is), no `response.completed` (Responses, relayed as it is). They were cut all the same, and must
// be handled as a stream reset mid-way is. And streams that end with the upstream's own error
// event, or whose translation for the caller's API never finished: failures too, each with one
// error event.

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
  # One provider per test below, each with its own circuits.
  responses-cut: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-unfinished }
  responses-error: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-unfinished }
  responses-retrieve-cut: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-unfinished }
  chat-error: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-unfinished }
  messages-error: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-unfinished }
  messages-unfinished: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-unfinished }
  responses-unfinished: { type: openai-compatible, base_url: ${openaiFake.url}, api_key: sk-upstream-unfinished }
  claude-error: { type: anthropic, base_url: ${anthropicFake.url}, api_key: ${ANTHROPIC_KEY} }
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

/** Each event of an SSE body: its name (when it has one) and its data. */
const sseEvents = (text: string): { name: string | undefined; data: string }[] =>
  text
    .split('\n\n')
    .filter(Boolean)
    .map((event) => ({ name: /^event: (.*)$/m.exec(event)?.[1], data: /^data: (.*)$/m.exec(event)?.[1] ?? '' }));

const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01' };
const messages = (model: string) =>
  post(
    '/v1/messages',
    { model, max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'say a few words' }] },
    ANTHROPIC_HEADERS,
  );
const responses = (model: string) => post('/v1/responses', { model, stream: true, input: 'say a few words' });

/** The request failed its one target, once: a broken attempt, an interrupted stream, and the error in the access log. */
async function expectFailedOnce(answer: Answer, provider: string, error: string): Promise<void> {
  expect(await accessLogLine(gateway, answer.requestId)).toMatchObject({ provider, streaming: true, status: 200, attempts: 1, error });
  const metrics = await scrape(`${gateway.url}/metrics`);
  expect(metrics.value('lightport_requests_total', { provider })).toBe(1);
  expect(metrics.value('lightport_upstream_errors_total', { provider })).toBe(1);
  expect(metrics.value('lightport_upstream_errors_total', { provider, class: 'broken' })).toBe(1);
  expect(metrics.value('lightport_streams_interrupted_total', { provider, reason: error })).toBe(1);
}

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

describe('a Responses stream relayed as it is that ends before response.completed', () => {
  it('ends with a Responses error event, is recorded as failed, and counts as a failure of the target', async () => {
    openaiFake.setFault({ kind: 'end_after_chunks', chunks: 4 }, 1);
    const cut = await responses('responses-cut/gpt-4o-mini');
    expect(cut.status).toBe(200);
    const events = sseEvents(cut.text);
    expect(events.map((event) => event.name)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'error',
    ]);
    expect(JSON.parse(events.at(-1)?.data ?? '')).toMatchObject({
      type: 'error',
      sequence_number: 4,
      code: 'upstream_error',
      message: expect.stringMatching(/ended before its final event/) as string,
    });
    await expectFailedOnce(cut, 'responses-cut', 'upstream_error');
    expectOpenCircuit(await responses('responses-cut/gpt-4o-mini'));
  });
});

describe('a stored Responses stream relayed again (GET /v1/responses/{id}?stream=true) that the upstream cuts', () => {
  it('ends with a Responses error event, not chat’s error shape', async () => {
    const created = await post('/v1/responses', { model: 'responses-retrieve-cut/gpt-4o-mini', input: 'say a few words' });
    expect(created.status).toBe(200);
    const { id } = JSON.parse(created.text) as { id: string };
    openaiFake.setFault({ kind: 'close_after_chunks', chunks: 4 }, 1);
    const response = await fetch(`${gateway.url}/v1/responses/${id}?stream=true`);
    expect(response.status).toBe(200);
    const events = sseEvents(await response.text());
    expect(events.map((event) => event.name)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'error',
    ]);
    expect(JSON.parse(events.at(-1)?.data ?? '')).toMatchObject({ type: 'error', sequence_number: 4, code: 'upstream_error' });
  });
});

describe("a stream that ends with the upstream's own error event", () => {
  it('passes an OpenAI error event on as the only error event, and records the request as failed', async () => {
    openaiFake.setFault({ kind: 'error_after_chunks', chunks: 3 }, 1);
    const ask = () =>
      post('/v1/chat/completions', {
        model: 'chat-error/gpt-4o-mini',
        stream: true,
        messages: [{ role: 'user', content: 'say a few words' }],
      });
    const failed = await ask();
    expect(failed.status).toBe(200);
    const events = eventData(failed.text);
    expect(events).toHaveLength(4);
    expect(events.slice(0, 3).every((data) => data.startsWith('{"id"'))).toBe(true);
    expect(JSON.parse(events.at(-1) ?? '')).toEqual({ error: STREAM_ERROR });
    await expectFailedOnce(failed, 'chat-error', STREAM_ERROR.code);
    expectOpenCircuit(await ask());
  });

  it("passes Anthropic's error event on as the only one, relayed to /v1/messages", async () => {
    const failed = await messages('claude-error/fake-stream-error');
    expect(failed.status).toBe(200);
    const errors = sseEvents(failed.text).filter((event) => event.name === 'error');
    expect(errors.map((event) => JSON.parse(event.data) as unknown)).toEqual([
      { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    ]);
    expect(sseEvents(failed.text).at(-1)?.name).toBe('error');
    await expectFailedOnce(failed, 'claude-error', 'overloaded_error');
    expectOpenCircuit(await messages('claude-error/fake-stream-error'));
  });

  it("ends a stream translated to /v1/messages with one Anthropic error event, the upstream's", async () => {
    openaiFake.setFault({ kind: 'error_after_chunks', chunks: 3 }, 1);
    const failed = await messages('messages-error/gpt-4o-mini');
    expect(failed.status).toBe(200);
    const events = sseEvents(failed.text);
    expect(events[0]?.name).toBe('message_start');
    expect(events.filter((event) => event.name === 'error').map((event) => JSON.parse(event.data) as unknown)).toEqual([
      { type: 'error', error: { type: 'api_error', message: STREAM_ERROR.message } },
    ]);
    expect(events.at(-1)?.name).toBe('error');
    await expectFailedOnce(failed, 'messages-error', STREAM_ERROR.code);
    expectOpenCircuit(await messages('messages-error/gpt-4o-mini'));
  });

  it('passes a Responses error event on as the only one, relayed to /v1/responses', async () => {
    openaiFake.setFault({ kind: 'error_after_chunks', chunks: 4 }, 1);
    const failed = await responses('responses-error/gpt-4o-mini');
    expect(failed.status).toBe(200);
    const events = sseEvents(failed.text);
    expect(events).toHaveLength(5);
    expect(events.filter((event) => event.name === 'error').map((event) => JSON.parse(event.data) as unknown)).toEqual([
      { type: 'error', code: STREAM_ERROR.code, message: STREAM_ERROR.message, param: null, sequence_number: 4 },
    ]);
    await expectFailedOnce(failed, 'responses-error', STREAM_ERROR.code);
    expectOpenCircuit(await responses('responses-error/gpt-4o-mini'));
  });
});

describe('a stream translated for the caller whose answer never finished, though the upstream sent [DONE]', () => {
  it("ends /v1/messages with Anthropic's error event, once, and counts as a failure of the target", async () => {
    openaiFake.setFault({ kind: 'omit_finish' }, 1);
    const failed = await messages('messages-unfinished/gpt-4o-mini');
    expect(failed.status).toBe(200);
    const events = sseEvents(failed.text);
    expect(events.filter((event) => event.name === 'content_block_delta').length).toBeGreaterThan(0);
    expect(events.filter((event) => event.name === 'error')).toHaveLength(1);
    expect(JSON.parse(events.at(-1)?.data ?? '')).toMatchObject({
      type: 'error',
      error: { type: 'api_error', message: expect.stringMatching(/ended before its final event/) as string },
    });
    await expectFailedOnce(failed, 'messages-unfinished', 'upstream_error');
    expectOpenCircuit(await messages('messages-unfinished/gpt-4o-mini'));
  });

  it('ends /v1/responses (adapted over chat) with a Responses error event, once, and counts as a failure of the target', async () => {
    openaiFake.setFault({ kind: 'omit_finish' }, 1);
    const failed = await responses('responses-unfinished/gpt-4o-mini');
    expect(failed.status).toBe(200);
    const events = sseEvents(failed.text);
    expect(events[0]?.name).toBe('response.created');
    expect(events.filter((event) => event.name === 'error')).toHaveLength(1);
    expect(events.at(-1)?.name).toBe('error');
    expect(events.some((event) => event.name === 'response.completed')).toBe(false);
    await expectFailedOnce(failed, 'responses-unfinished', 'upstream_error');
    expectOpenCircuit(await responses('responses-unfinished/gpt-4o-mini'));
  });
});
