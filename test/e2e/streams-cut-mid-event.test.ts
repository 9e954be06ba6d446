import Anthropic from '@anthropic-ai/sdk';
import { createParser } from 'eventsource-parser';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { ANTHROPIC_KEY, anthropicDialect } from '../fakes/providers/anthropic.ts';
import { startFakeProvider, type FakeProvider } from '../fakes/providers/harness.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

// Streams the upstream cuts in the middle of an event: part of a `data: {...` line came, then the
// connection dropped (or the body ended cleanly). The caller gets whole events only, then the
// gateway's error event, which its SSE parser (and the official SDKs) read as an error, never as
// garbled JSON; in the Responses API, the error event is numbered after the last event sent.

let openaiFake: OpenAIUpstream;
let anthropicFake: FakeProvider;
let gateway: GatewayProcess;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  [openaiFake, anthropicFake] = await Promise.all([startOpenAIUpstream(), startFakeProvider(anthropicDialect, '/v1')]);
  gateway = await startGateway({
    config: `
providers:
  openai: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-mid-event }
  claude: { type: anthropic, base_url: ${anthropicFake.url}, api_key: ${ANTHROPIC_KEY} }
models:
  # A translated target that fails before its first byte, then a relayed one.
  translated-then-relayed: { strategy: fallback, targets: [claude/fake-500, openai/gpt-4o-mini] }
router:
  circuit: { enabled: false }
`,
  });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'caller-key', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'caller-key', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([openaiFake?.close(), anthropicFake?.close()]);
});

interface SseEvent {
  readonly name: string | undefined;
  readonly data: string;
}

/** The events of an SSE body as a conforming parser dispatches them. */
function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: ({ event, data }) => events.push({ name: event, data }) });
  parser.feed(text);
  return events;
}

/** The raw body of a streamed POST. */
async function streamText(path: string, body: unknown, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return response.text();
}

/** What iterating the stream threw (undefined when it ended cleanly), and how many events came first. */
async function drain<T>(stream: AsyncIterable<T>, onEvent: (event: T) => void = () => undefined): Promise<unknown> {
  try {
    for await (const event of stream) onEvent(event);
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Every event parses as JSON: nothing garbled reached the caller. */
function expectWholeEvents(events: readonly SseEvent[]): unknown[] {
  return events.map((event) => {
    expect(() => JSON.parse(event.data) as unknown, `event data: ${event.data}`).not.toThrow();
    return JSON.parse(event.data) as unknown;
  });
}

const CUT_MESSAGE = /ended before its final event|failed while the answer was streaming/;

describe('an OpenAI chat stream relayed as it is, cut mid-event', () => {
  // With usage asked for by the caller, the stream passes through no usage filter; without, through one.
  const usages = [
    { name: 'usage asked for', stream_options: { include_usage: true } },
    { name: 'usage not asked for', stream_options: undefined },
  ];
  const ask = (stream_options: { include_usage: boolean } | undefined) =>
    openai.chat.completions.create({
      model: 'openai/gpt-4o-mini',
      stream: true,
      ...(stream_options === undefined ? {} : { stream_options }),
      messages: [{ role: 'user', content: 'a few words, cut in the middle of an event' }],
    });

  it.each(usages.flatMap((usage) => (['close', 'end'] as const).map((ending) => ({ ...usage, ending }))))(
    'ends with an error event the SDK raises as an APIError ($name, connection $ending)',
    async ({ stream_options, ending }) => {
      openaiFake.setFault({ kind: 'cut_mid_event', chunks: 3, ending }, 1);
      let chunks = 0;
      const error = await drain(await ask(stream_options), () => chunks++);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect(error).toMatchObject({ code: 'upstream_error', message: expect.stringMatching(CUT_MESSAGE) as string });
      expect(chunks).toBe(3);
    },
  );

  it('sends whole events only: the cut one is left out, the error event stands alone', async () => {
    openaiFake.setFault({ kind: 'cut_mid_event', chunks: 3, ending: 'close' }, 1);
    const text = await streamText('/v1/chat/completions', {
      model: 'openai/gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'a few words, cut in the middle of an event' }],
    });
    const data = expectWholeEvents(parseSse(text));
    expect(data).toHaveLength(4);
    expect(data.at(-1)).toMatchObject({ error: { code: 'upstream_error' } });
  });
});

describe('an Anthropic Messages stream relayed as it is, cut mid-event', () => {
  it('ends with an error event the SDK raises as an APIError', async () => {
    const stream = anthropic.messages.create({
      model: 'claude/fake-cut-mid-event',
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'a long answer that will be cut off in the middle of an event please' }],
    });
    const names: string[] = [];
    const error = await drain(await stream, (event) => names.push(event.type));
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(error).toMatchObject({ error: { type: 'error', error: { type: 'api_error', message: expect.stringMatching(CUT_MESSAGE) } } });
    expect(names[0]).toBe('message_start');
  });

  it('sends whole events only, then one error event', async () => {
    const text = await streamText(
      '/v1/messages',
      {
        model: 'claude/fake-cut-mid-event',
        max_tokens: 100,
        stream: true,
        messages: [{ role: 'user', content: 'a long answer that will be cut off in the middle of an event please' }],
      },
      { 'anthropic-version': '2023-06-01' },
    );
    const events = parseSse(text);
    expectWholeEvents(events);
    expect(events.at(-1)?.name).toBe('error');
    expect(events.filter((event) => event.name === 'error')).toHaveLength(1);
  });
});

/** The sequence numbers of a Responses stream's events, the error event's last. */
function sequenceNumbers(text: string): { names: (string | undefined)[]; numbers: number[] } {
  const events = parseSse(text);
  const data = expectWholeEvents(events) as { sequence_number?: number }[];
  return { names: events.map((event) => event.name), numbers: data.map((event) => event.sequence_number ?? -1) };
}

const counting = (length: number): number[] => Array.from({ length }, (_value, index) => index);

describe('a Responses stream cut mid-event', () => {
  const create = (model: string) =>
    openai.responses.create({ model, stream: true, input: 'a long answer that will be cut off in the middle of an event please' });

  it.each(['close', 'end'] as const)('relayed: ends with an error event the SDK raises as an APIError (connection %s)', async (ending) => {
    openaiFake.setFault({ kind: 'cut_mid_event', chunks: 4, ending }, 1);
    const numbers: number[] = [];
    const error = await drain(await create('openai/gpt-4o-mini'), (event) => numbers.push(event.sequence_number));
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ code: 'upstream_error', message: expect.stringMatching(CUT_MESSAGE) as string });
    expect(numbers).toEqual(counting(4));
  });

  it('relayed: the error event is numbered after the last event passed on', async () => {
    openaiFake.setFault({ kind: 'cut_mid_event', chunks: 4, ending: 'close' }, 1);
    const text = await streamText('/v1/responses', { model: 'openai/gpt-4o-mini', stream: true, input: 'cut me mid-event' });
    const { names, numbers } = sequenceNumbers(text);
    expect(names).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'error',
    ]);
    expect(numbers).toEqual(counting(5));
  });

  it('relayed again from the store (GET ?stream=true): the error event is numbered next', async () => {
    const created = await openai.responses.create({ model: 'openai/gpt-4o-mini', input: 'keep me, then stream me again' });
    openaiFake.setFault({ kind: 'cut_mid_event', chunks: 5, ending: 'close' }, 1);
    const response = await fetch(`${gateway.url}/v1/responses/${created.id}?stream=true`);
    expect(response.status).toBe(200);
    const { names, numbers } = sequenceNumbers(await response.text());
    expect(names.at(-1)).toBe('error');
    expect(numbers).toEqual(counting(6));
  });

  it('relayed after a translated target failed before its first byte: numbered from the relayed stream, not the other', async () => {
    openaiFake.setFault({ kind: 'cut_mid_event', chunks: 4, ending: 'close' }, 1);
    const response = await fetch(`${gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'translated-then-relayed', stream: true, input: 'cut me mid-event' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-lightport-provider')).toBe('openai');
    const { names, numbers } = sequenceNumbers(await response.text());
    expect(names.at(-1)).toBe('error');
    expect(numbers).toEqual(counting(5));
  });

  it('translated from an Anthropic upstream: an APIError, and every event numbered in order, the error event included', async () => {
    const numbers: number[] = [];
    const error = await drain(await create('claude/fake-cut-mid-event'), (event) => numbers.push(event.sequence_number));
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ code: 'upstream_error' });
    expect(numbers.length).toBeGreaterThan(2);

    const text = await streamText('/v1/responses', { model: 'claude/fake-cut-mid-event', stream: true, input: 'cut me mid-event' });
    const parsed = sequenceNumbers(text);
    expect(parsed.names.at(-1)).toBe('error');
    expect(parsed.numbers).toEqual(counting(parsed.numbers.length));
  });
});
