import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.ts';
import type { RequestFinished } from '../observability/events.ts';
import { createLogger } from '../observability/logger.ts';
import { createGateway, type Gateway } from '../server/gateway.ts';

const KEY = 'lp-test-events-key-000001';
let gateway: Gateway;
let url: string;
const finished: RequestFinished[] = [];
const onFinished = (message: unknown): void => void finished.push(message as RequestFinished);

beforeAll(async () => {
  const parsed = parseConfigText(
    `
providers: { plain: { type: mock } }
models: { echo: { provider: plain, model: echo-1 } }
auth:
  enabled: true
  keys: [{ name: reporting, key: ${KEY}, team: analytics }]
`,
    'test.yaml',
    {},
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  gateway = createGateway(parsed.config, createLogger('silent'));
  expect(await gateway.prepare()).toEqual([]);
  const address = await gateway.listen(0, '127.0.0.1');
  url = `http://127.0.0.1:${address.port}`;
  subscribe('lightport:request:finished', onFinished);
});

afterAll(async () => {
  unsubscribe('lightport:request:finished', onFinished);
  await gateway.shutdown();
});

describe('lightport:request:finished', () => {
  it('carries the key name, its team and the user, and no secret', async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-lightport-key': KEY },
      body: JSON.stringify({ model: 'echo', user: 'ursula', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    await response.text();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(finished.at(-1)).toMatchObject({ status: 200, keyName: 'reporting', team: 'analytics', user: 'ursula', model: 'echo' });
    expect(JSON.stringify(finished)).not.toContain(KEY);
  });
});
