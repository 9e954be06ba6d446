import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

// An upstream that starts a stream, sends one chunk and then waits; it records when the gateway
// hangs up on it. The gateway must cancel upstream work as soon as its own caller goes away.
let upstream: Server;
let upstreamClosed: Promise<number>;
let markClosed: (at: number) => void;
let gateway: GatewayProcess;

const chunk = {
  id: 'chatcmpl-cancel',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }],
};

beforeAll(async () => {
  upstreamClosed = new Promise((resolve) => (markClosed = resolve));
  upstream = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    res.on('close', () => markClosed(performance.now()));
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const { port } = upstream.address() as AddressInfo;
  gateway = await startGateway({
    config: `
providers:
  slow: { type: openai-compatible, base_url: "http://127.0.0.1:${port}/v1", api_key: sk-test }
models:
  streaming: { provider: slow, model: gpt-4o-mini }
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  upstream?.closeAllConnections();
  upstream?.close();
});

describe('a caller that goes away', () => {
  it('cancels the upstream request at once', async () => {
    const caller = new AbortController();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-caller' },
      body: JSON.stringify({ model: 'streaming', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      signal: caller.signal,
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"content":"Hel"');
    const hungUpAt = performance.now();
    caller.abort();
    const closedAt = await Promise.race([upstreamClosed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 3000))]);
    expect(closedAt, 'the upstream stream was still open 3 s after the caller left').toBeGreaterThan(0);
    expect(closedAt - hungUpAt).toBeLessThan(1000);
  });
});
