import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLogLine } from '../support/access-log.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

// Streams that reach their final event, then carry keep-alive comments (`: keep-alive`), as
// proxies and some servers send: complete, passed on as they are, never ended with an error event.

const KEEP_ALIVE = ': keep-alive\n\n';

const CHAT_STREAM =
  // A server that sends no finish_reason (as `omit_finish` in the fakes), then [DONE], then a keep-alive.
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] })}\n\n` +
  'data: [DONE]\n\n' +
  KEEP_ALIVE;

const MESSAGES_STREAM =
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}\n\n' +
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n' +
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}\n\n' +
  'event: message_stop\ndata: {"type":"message_stop"}\n\n' +
  KEEP_ALIVE.repeat(20);

const responsesEvent = (type: string, fields: Record<string, unknown>): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: 1, ...fields })}\n\n`;
const RESPONSES_STREAM =
  responsesEvent('response.output_text.delta', { delta: 'Hi' }) +
  responsesEvent('response.completed', {
    response: { id: 'resp_1', status: 'completed', usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 } },
  }) +
  KEEP_ALIVE;

let upstream: Server;
let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = req.url?.endsWith('/messages') ? MESSAGES_STREAM : req.url?.endsWith('/responses') ? RESPONSES_STREAM : CHAT_STREAM;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // Each event its own write, as servers stream them.
      for (const event of body.split(/(?<=\n\n)/)) res.write(event);
      res.end();
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await startGateway({
    config: `
providers:
  openai: { type: openai, base_url: ${url}/v1, api_key: sk-upstream-keepalives }
  claude: { type: anthropic, base_url: ${url}/v1, api_key: sk-ant-keepalives }
models:
  fast: { provider: openai, model: gpt-4o-mini }
  sonnet: { provider: claude, model: claude-sonnet }
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ requestId: string; text: string }> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return { requestId: response.headers.get('x-request-id') ?? '', text: await response.text() };
}

describe('a stream with keep-alive comments after its final event', () => {
  it('is complete from a chat upstream: [DONE], then a keep-alive', async () => {
    const { requestId, text } = await post('/v1/chat/completions', {
      model: 'fast',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(text).toContain('data: [DONE]');
    expect(text).not.toContain('"error"');
    expect((await accessLogLine(gateway, requestId))['error']).toBeUndefined();
  });

  it('is complete relayed from an Anthropic upstream: message_stop, then keep-alives', async () => {
    const { requestId, text } = await post(
      '/v1/messages',
      { model: 'sonnet', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] },
      { 'anthropic-version': '2023-06-01' },
    );
    expect(text).toContain('event: message_stop');
    expect(text).not.toContain('event: error');
    expect((await accessLogLine(gateway, requestId))['error']).toBeUndefined();
  });

  it('is complete relayed from a Responses upstream: response.completed, then a keep-alive', async () => {
    const { requestId, text } = await post('/v1/responses', { model: 'fast', stream: true, input: 'hi' });
    expect(text).toContain('event: response.completed');
    expect(text).not.toContain('event: error');
    expect((await accessLogLine(gateway, requestId))['error']).toBeUndefined();
  });
});
