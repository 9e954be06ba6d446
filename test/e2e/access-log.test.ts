import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MODELS, startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const PROVIDER_KEY = 'sk-proj-ACCESSLOG-provider-key-never-logged-31';
const ADMIN_KEY = 'admin-ACCESSLOG-key-never-logged-77';
const CUSTOM_SECRET = 'CUSTOM-98765';
const FIELD_SECRET = 'field-value-never-logged';

interface AccessLine {
  msg: string;
  request_id: string;
  status: number;
  user?: string;
  model?: string;
  provider?: string;
  target?: string;
  attempts: number;
  duration_ms: number;
  ttft_ms?: number;
  overhead_ms?: number;
  usage?: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number; reasoning_tokens?: number };
  cost_usd?: number;
  error?: string;
  streaming: boolean;
  request_body?: string;
  response_body?: string;
}

function accessLines(gateway: GatewayProcess): AccessLine[] {
  return gateway
    .output()
    .stdout.split('\n')
    .filter((line) => line.includes('"msg":"request"'))
    .map((line) => JSON.parse(line) as AccessLine);
}

async function waitForLines(gateway: GatewayProcess, count: number): Promise<AccessLine[]> {
  for (let tries = 0; tries < 100; tries++) {
    const lines = accessLines(gateway);
    if (lines.length >= count) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return accessLines(gateway);
}

function chat(gateway: GatewayProcess, model: string, extra: object = {}): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello log' }], ...extra }),
  });
}

let upstream: OpenAIUpstream;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
});

afterAll(async () => {
  await upstream?.close();
});

describe('access log with every body, redacted', () => {
  let gateway: GatewayProcess;
  const store = join(mkdtempSync(join(tmpdir(), 'lightport-secrets-')), 'requests.db');

  beforeAll(async () => {
    gateway = await startGateway({
      config: `
logging:
  bodies: all
  redact:
    fields: [secret_field]
    patterns: ['CUSTOM-[0-9]+']
providers:
  openai: { type: openai, api_key: "${PROVIDER_KEY}", base_url: "${upstream.url}" }
models:
  fast: { provider: openai, model: gpt-4o-mini }
admin: { key: "${ADMIN_KEY}" }
request_log: { sqlite_path: "${store}", flush_ms: 50 }
`,
    });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('writes one line per request with the fields operators need, and no secret in logs, metrics or the store', async () => {
    const leaky = `my keys: ${PROVIDER_KEY} ${ADMIN_KEY} ${CUSTOM_SECRET}`;
    const ok = await chat(gateway, 'fast', {
      user: 'user-42',
      metadata: { secret_field: FIELD_SECRET },
      messages: [{ role: 'user', content: leaky }],
    });
    const okId = ok.headers.get('x-request-id');
    const okCost = Number(ok.headers.get('x-lightport-cost-usd'));
    await ok.text();
    const streamed = await chat(gateway, 'fast', { stream: true });
    const streamedId = streamed.headers.get('x-request-id');
    await streamed.text();
    const failed = await chat(gateway, `openai/${FAKE_MODELS.serverError}`);
    const failedId = failed.headers.get('x-request-id');
    await failed.text();

    const lines = await waitForLines(gateway, 3);
    const okLine = lines.find((line) => line.request_id === okId);
    expect(okLine).toMatchObject({
      status: 200,
      user: 'user-42',
      model: 'fast',
      provider: 'openai',
      target: 'openai/gpt-4o-mini',
      attempts: 1,
      streaming: false,
    });
    expect(okLine?.duration_ms).toBeGreaterThan(0);
    expect(okLine?.ttft_ms).toBeGreaterThan(0);
    expect(okLine?.overhead_ms).toBeGreaterThanOrEqual(0);
    expect(okLine?.overhead_ms).toBeLessThan(okLine?.duration_ms ?? 0);
    expect(okLine?.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(okLine?.cost_usd).toBeCloseTo(okCost, 12);
    expect(okLine?.request_body).toContain('my keys');
    expect(okLine?.request_body).toContain('[redacted]');
    expect(okLine?.response_body).toContain('chat.completion');

    const streamLine = lines.find((line) => line.request_id === streamedId);
    expect(streamLine?.streaming).toBe(true);
    expect(streamLine?.ttft_ms).toBeGreaterThan(0);
    expect(streamLine?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(streamLine?.response_body).toContain('data: [DONE]');

    const failedLine = lines.find((line) => line.request_id === failedId);
    expect(failedLine).toMatchObject({ status: 500, attempts: 1 });
    expect(failedLine?.error).toBeDefined();
    expect(failedLine?.response_body).toContain('error');

    // The secrets did reach the gateway (and the provider key the upstream), so their absence means something.
    expect(JSON.stringify(upstream.requests.map((request) => request.body))).toContain(FIELD_SECRET);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    await gateway.stop();
    const { stdout, stderr } = gateway.output();
    const db = new DatabaseSync(store, { readOnly: true });
    const stored = JSON.stringify(db.prepare('SELECT * FROM lightport_request_log').all());
    db.close();
    expect(stored).toContain('my keys');
    for (const secret of [PROVIDER_KEY, ADMIN_KEY, CUSTOM_SECRET, FIELD_SECRET]) {
      expect(stdout).not.toContain(secret);
      expect(stderr).not.toContain(secret);
      expect(metrics).not.toContain(secret);
      expect(stored).not.toContain(secret);
    }
  });
});

describe('body tiers', () => {
  it('"errors" keeps the bodies of failed requests only', async () => {
    const gateway = await startGateway({
      config: `
logging: { bodies: errors }
providers:
  demo: { type: mock, errors: [{ rate: 0.25, kind: status, status: 503 }] }
`,
    });
    try {
      for (let i = 0; i < 8; i++) await (await chat(gateway, 'demo/m')).text();
      const lines = await waitForLines(gateway, 8);
      const failed = lines.filter((line) => line.status >= 400);
      const succeeded = lines.filter((line) => line.status < 400);
      expect(failed).toHaveLength(2);
      for (const line of failed) expect(line.request_body && line.response_body).toBeTruthy();
      for (const line of succeeded) expect(line.request_body ?? line.response_body).toBeUndefined();
    } finally {
      await gateway.stop();
    }
  });

  it('"sample" keeps about the configured fraction of bodies, and every error', async () => {
    const gateway = await startGateway({
      config: `
logging: { bodies: sample, sample_rate: 0.3 }
providers:
  demo: { type: mock, errors: [{ rate: 0.1, kind: status, status: 500 }] }
`,
    });
    try {
      const total = 400;
      for (let batch = 0; batch < total / 20; batch++) {
        await Promise.all(Array.from({ length: 20 }, async () => (await chat(gateway, 'demo/m')).text()));
      }
      const lines = await waitForLines(gateway, total);
      expect(lines).toHaveLength(total);
      const failed = lines.filter((line) => line.status >= 400);
      const succeeded = lines.filter((line) => line.status < 400);
      expect(failed).toHaveLength(total / 10);
      for (const line of failed) expect(line.request_body).toBeDefined();
      const sampled = succeeded.filter((line) => line.response_body !== undefined).length;
      // 360 successes at 0.3: mean 108, standard deviation 8.7; ±4.5 deviations.
      expect(sampled).toBeGreaterThan(69);
      expect(sampled).toBeLessThan(147);
    } finally {
      await gateway.stop();
    }
  });
});
