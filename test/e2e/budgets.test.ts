import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const CAPPED = 'lp-test-budget-capped-0001';
const LOUD = 'lp-test-budget-loud-00002';
const ADMIN = 'test-admin-key-0123456789';
const SECRET = 'whsec-test-signing-secret';

let receiver: WebhookReceiver;
let gateway: GatewayProcess;
let config: string;

beforeAll(async () => {
  // The first delivery fails after a second: a retry must follow, and no request may wait for it.
  receiver = await startWebhookReceiver({ failFirst: 1, delayMs: 1000 });
  const state = join(mkdtempSync(join(tmpdir(), 'lp-budgets-')), 'state.db');
  // Every answer reports 100 000 prompt tokens: $0.10 at $1 per million.
  config = `
providers:
  priced: { type: mock, usage: { prompt_tokens: 100000, completion_tokens: 0 } }
models:
  echo: { provider: priced, model: priced-1 }
admin: { key: ${ADMIN} }
auth:
  enabled: true
  keys:
    - { name: capped, key: ${CAPPED}, budgets: [{ usd: 1, period: day }] }
    - { name: loud, key: ${LOUD}, team: ops, budgets: [{ usd: 0.2, period: month, on_exceeded: alert }] }
  teams:
    ops: { budgets: [{ usd: 100, period: week }] }
budgets:
  thresholds: [0.5, 0.8, 1]
  webhook: { url: "${receiver.url}", retries: 3, secret: ${SECRET}, headers: { x-team: finance } }
  prices: { "priced-*": { input_per_million: 1, output_per_million: 0 } }
state:
  store: { type: sqlite, path: ${state} }
`;
  gateway = await startGateway({ config });
});

afterAll(async () => {
  await gateway?.stop();
  await receiver?.close();
});

async function ask(
  key: string,
): Promise<{ status: number; ms: number; error?: { code: string; message: string; type: string }; headers: Headers }> {
  const started = performance.now();
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'spend' }] }),
  });
  const json = (await response.json()) as { error?: { code: string; message: string; type: string } };
  return { status: response.status, ms: performance.now() - started, headers: response.headers, ...json };
}

const alertsFor = (name: string) =>
  receiver
    .delivered()
    .filter((alert) => alert['name'] === name)
    .map((alert) => alert['threshold']);

describe('budgets', () => {
  it('alerts at each threshold once, through a retried webhook that no request waits for', async () => {
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await ask(CAPPED));
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    // The 5th request crossed 50% while the webhook took a second to fail: no request waited for it.
    expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(900);
    await receiver.waitFor(3);
    expect(alertsFor('capped')).toEqual([0.5, 0.8, 1]);
    expect(receiver.received.filter((hook) => hook.status === 500)).toHaveLength(1);

    const [first] = receiver.delivered();
    expect(first).toMatchObject({
      type: 'budget.threshold',
      scope: 'key',
      name: 'capped',
      period: 'day',
      threshold: 0.5,
      budget_usd: 1,
      spent_usd: 0.5,
      on_exceeded: 'block',
    });
    const hook = receiver.received.find((received) => received.status === 204);
    expect(hook?.headers['content-type']).toBe('application/json');
    expect(hook?.headers['x-team']).toBe('finance');
    expect(hook?.headers['x-lightport-signature']).toBe(
      `sha256=${createHmac('sha256', SECRET)
        .update(hook?.body ?? '')
        .digest('hex')}`,
    );
  });

  it('blocks at 100% with a clear error that says when the budget resets', async () => {
    const refused = await ask(CAPPED);
    expect(refused.status).toBe(429);
    expect(refused.error).toMatchObject({ code: 'budget_exceeded', type: 'insufficient_quota' });
    expect(refused.error?.message).toMatch(
      /^This key \('capped'\) has spent \$1\.0000 of its daily budget of \$1\.00; .* resets at \d{4}-\d\d-\d\dT00:00:00\.000Z\.$/,
    );
    expect(refused.headers.get('x-should-retry')).toBe('false');
  });

  it('only alerts for an alert-only budget, and fires each threshold once even when one request passes two', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await ask(LOUD));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    await receiver.waitFor(6);
    await sleep(200);
    expect(alertsFor('loud')).toEqual([0.5, 0.8, 1]);
    expect(receiver.delivered().filter((alert) => alert['scope'] === 'team')).toEqual([]);
    expect(gateway.output().stdout).toContain('"msg":"budget 80% reached"');
  });

  it('keeps spend across a restart: still blocked, and no threshold fires again', async () => {
    expect(await gateway.stop()).toBe(0);
    gateway = await startGateway({ config });
    const refused = await ask(CAPPED);
    expect(refused.status).toBe(429);
    expect(refused.error?.code).toBe('budget_exceeded');
    expect((await ask(LOUD)).status).toBe(200);

    const response = await fetch(`${gateway.url}/admin/spend`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const spend = ((await response.json()) as { data: Array<{ scope: string; name: string; period: string; usd: number }> }).data;
    const usd = (scope: string, name: string, kind: string) =>
      spend.find((row) => row.scope === scope && row.name === name && row.period.startsWith(kind))?.usd;
    expect(usd('key', 'capped', 'day')).toBeCloseTo(1, 6);
    expect(usd('key', 'loud', 'month')).toBeCloseTo(0.5, 6);
    expect(usd('team', 'ops', 'week')).toBeCloseTo(0.5, 6);

    await sleep(300);
    expect(receiver.delivered()).toHaveLength(6);
  });
});
