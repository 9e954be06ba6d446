import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

// An OpenAI-compatible upstream that ends its lines with CRLF (`\r\n\r\n` between events, as the
// SSE spec allows) streams through the gateway as it comes: a caller who did not ask for usage
// gets each token as it is written, never the usage-only chunk the gateway asked for for itself.

const INTERVAL_MS = 300;

let upstream: OpenAIUpstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gateway = await startGateway({
    config: `
providers:
  compatible: { type: openai, base_url: ${upstream.url}, api_key: sk-upstream-crlf }
router:
  circuit: { enabled: false }
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

interface Received {
  readonly data: unknown;
  /** Milliseconds after the request was sent. */
  readonly at: number;
}

/** The events of a streamed chat answer, each with the time it reached the caller, and when the body ended. */
async function streamed(body: Record<string, unknown>): Promise<{ events: Received[]; endedAt: number }> {
  const started = performance.now();
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'compatible/gpt-4o-mini', stream: true, ...body }),
  });
  expect(response.status).toBe(200);
  const events: Received[] = [];
  const parser = createParser({
    onEvent: ({ data }) => events.push({ data: data === '[DONE]' ? data : (JSON.parse(data) as unknown), at: performance.now() - started }),
  });
  const decoder = new TextDecoder();
  for await (const bytes of response.body as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(bytes, { stream: true }));
  return { events, endedAt: performance.now() - started };
}

const hasContent = (data: unknown): boolean =>
  (data as { choices?: { delta?: { content?: unknown } }[] }).choices?.some(
    (choice) => typeof choice.delta?.content === 'string' && choice.delta.content !== '',
  ) === true;
const isUsageOnly = (data: unknown): boolean => {
  const chunk = data as { choices?: unknown[]; usage?: unknown };
  return Array.isArray(chunk.choices) && chunk.choices.length === 0 && typeof chunk.usage === 'object' && chunk.usage !== null;
};

const messages = [{ role: 'user', content: 'tell me four words' }];

describe('a chat stream whose upstream ends its lines with CRLF', () => {
  it('reaches a caller who did not ask for usage token by token, without the usage-only chunk', async () => {
    upstream.setFault({ kind: 'crlf_events', intervalMs: INTERVAL_MS }, 1);
    const { events, endedAt } = await streamed({ messages });
    // The gateway asked the upstream for usage itself.
    expect(upstream.requests.at(-1)?.body).toMatchObject({ stream_options: { include_usage: true } });
    const first = events.find((event) => hasContent(event.data));
    expect(first).toBeDefined();
    // "You said: tell me four words" comes in six pieces, INTERVAL_MS apart: the first long before the end.
    expect(endedAt - (first?.at ?? endedAt)).toBeGreaterThan(2 * INTERVAL_MS);
    expect(events.filter((event) => hasContent(event.data)).length).toBeGreaterThan(2);
    expect(events.some((event) => isUsageOnly(event.data))).toBe(false);
    expect(events.at(-1)?.data).toBe('[DONE]');
  });

  it('gives a caller who asked for usage the usage chunk', async () => {
    upstream.setFault({ kind: 'crlf_events', intervalMs: INTERVAL_MS }, 1);
    const { events, endedAt } = await streamed({ messages, stream_options: { include_usage: true } });
    const first = events.find((event) => hasContent(event.data));
    expect(endedAt - (first?.at ?? endedAt)).toBeGreaterThan(2 * INTERVAL_MS);
    const usage = events.filter((event) => isUsageOnly(event.data));
    expect(usage).toHaveLength(1);
    expect(usage[0]?.data).toMatchObject({ usage: { prompt_tokens: expect.any(Number) as number } });
    expect(events.at(-1)?.data).toBe('[DONE]');
  });
});
