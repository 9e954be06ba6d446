import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

let gateway: GatewayProcess | undefined;

afterEach(async () => {
  await gateway?.stop('SIGKILL');
});

const slowMock = (grace: number) => `
server: { shutdown_grace_ms: ${grace} }
providers:
  slow:
    type: mock
    response: { text: "one two three four five six" }
    chunk_ms: 150
models:
  slow: { provider: slow, model: slow-1 }
`;

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('on %s lets a stream in flight complete, refuses new work, then exits 0', async (signal) => {
    gateway = await startGateway({ config: slowMock(10_000) });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'go' }] });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);

    const exit = gateway.stop(signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();

    let text = (first.value as OpenAI.ChatCompletionChunk).choices[0]?.delta.content ?? '';
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) text += next.value.choices[0]?.delta.content ?? '';
    expect(text).toBe('one two three four five six');
    expect(await exit).toBe(0);
    expect(gateway.output().stderr).toContain('Lightport stopped.');
  });

  it('ends streams that outlast the grace period with an error event, and still exits 0', async () => {
    gateway = await startGateway({ config: slowMock(200) });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'go' }] }),
    });
    const reader = response.body!.getReader();
    await reader.read();
    const exit = gateway.stop('SIGTERM');
    let text = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
    expect(text).toContain('"error"');
    expect(text).not.toContain('[DONE]');
    expect(await exit).toBe(0);
    expect(gateway.output().stderr).toContain('grace period ended');
  });
});
