import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { FAULTS } from '../fakes/upstream-faults.ts';
import { ask } from '../support/ask.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { scrape } from '../support/prometheus.ts';
import { targetOf } from '../support/target-headers.ts';

let primary: OpenAIUpstream;
let backup: OpenAIUpstream;
/** Only the deadline test's targets: an attempt it started can reach its upstream after its 504, and must not take another test's fault. */
let stalling: OpenAIUpstream;
let gateway: GatewayProcess;

/** lightport_circuit_state of one target (0 closed, 1 half-open, 2 open), as /metrics shows it. */
async function circuitGauge(name: string): Promise<number | undefined> {
  const [series, ...more] = (await scrape(`${gateway.url}/metrics`)).series('lightport_circuit_state', { target: name });
  if (more.length > 0) throw new Error(`several lightport_circuit_state series for ${name}`);
  return series?.value;
}

const target = (answer: { headers: Headers }) => targetOf(answer.headers);
const attempts = (answer: { headers: Headers }) => answer.headers.get('x-lightport-attempts');

function on(name: string, upstream: OpenAIUpstream): string {
  return `  ${name}: { type: openai-compatible, base_url: "${upstream.url}", api_key: sk-test }`;
}

beforeAll(async () => {
  [primary, backup, stalling] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream(), startOpenAIUpstream()]);
  // Several provider names on the same upstream keep each test's health records apart.
  gateway = await startGateway({
    config: `
server: { request_timeout_ms: 10000 }
providers:
${on('retrying', primary)}
${on('slow', primary)}
${on('flaky', primary)}
${on('lonely', primary)}
${on('backup', backup)}
${on('stalled', stalling)}
${on('stalled-backup', stalling)}
router:
  circuit: { failures: 3, open_ms: 800, min_requests: 1000 }
models:
  patient:
    provider: retrying
    model: gpt-4o-mini
    retry: { attempts: 3, backoff_ms: 50, max_backoff_ms: 100, retry_after_max_ms: 2000 }
  impatient-then-backup:
    strategy: fallback
    targets:
      - { provider: retrying, model: gpt-4o-mini, retry: { attempts: 3, retry_after_max_ms: 500 } }
      - backup/gpt-4o-mini
  with-deadline:
    strategy: fallback
    deadline_ms: 700
    targets:
      - { provider: stalled, model: gpt-4o-mini, timeouts: { first_byte_ms: 400 }, retry: { attempts: 3, backoff_ms: 1 } }
      - { provider: stalled-backup, model: gpt-4o-mini, timeouts: { first_byte_ms: 400 } }
  guarded: { strategy: fallback, targets: [flaky/gpt-4o-mini, backup/gpt-4o-mini] }
  bounded:
    strategy: fallback
    targets:
      - { provider: slow, model: gpt-4o-mini, timeouts: { total_ms: 300, idle_ms: 300 } }
      - backup/gpt-4o-mini
  alone: { provider: lonely, model: gpt-4o-mini }
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([primary?.close(), backup?.close(), stalling?.close()]);
});

beforeEach(() => {
  primary.setFault(undefined);
  backup.setFault(undefined);
});

describe('retries', () => {
  it("honours the upstream's Retry-After before retrying the same target", async () => {
    primary.setFault(FAULTS.tooManyRequests(1), 1);
    const answer = await ask(gateway.url, 'patient');
    expect(answer.status).toBe(200);
    expect(attempts(answer)).toBe('2');
    expect(target(answer)).toBe('retrying/gpt-4o-mini');
    expect(answer.headers.get('x-lightport-fallback-reason')).toBeNull();
    expect(answer.ms).toBeGreaterThanOrEqual(1000);
    expect(answer.ms).toBeLessThan(2500);
  });

  it('moves to the next target at once when Retry-After is over the cap', async () => {
    primary.setFault(FAULTS.tooManyRequests(30), 1);
    const answer = await ask(gateway.url, 'impatient-then-backup');
    expect(answer.status).toBe(200);
    expect(target(answer)).toBe('backup/gpt-4o-mini');
    expect(answer.headers.get('x-lightport-fallback-reason')).toBe('rate_limit');
    expect(answer.ms).toBeLessThan(1000);
  });

  it('retries 5xx with backoff until an attempt succeeds', async () => {
    primary.setFault(FAULTS.unavailable(), 2);
    const before = primary.chatRequests();
    const answer = await ask(gateway.url, 'patient');
    expect(answer.status).toBe(200);
    expect(attempts(answer)).toBe('3');
    expect(primary.chatRequests()).toBe(before + 3);
  });

  it('gives up after its attempts with the last error', async () => {
    primary.setFault(FAULTS.serverError(), 3);
    const answer = await ask(gateway.url, 'patient');
    expect(answer.status).toBe(500);
    expect(attempts(answer)).toBe('3');
  });
});

describe('deadline', () => {
  it('is shared by retries and fallbacks: the request ends when it passes', async () => {
    stalling.setFault({ kind: 'hang' });
    const answer = await ask(gateway.url, 'with-deadline');
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'upstream_timeout' } });
    expect(answer.ms).toBeGreaterThanOrEqual(650);
    expect(answer.ms).toBeLessThan(1200);
  });
});

describe('timeouts', () => {
  it('ends an attempt at total_ms and falls back', async () => {
    primary.setFault({ kind: 'delay', ms: 1500 }, 1);
    const answer = await ask(gateway.url, 'bounded');
    expect(answer.status).toBe(200);
    expect(target(answer)).toBe('backup/gpt-4o-mini');
    expect(answer.headers.get('x-lightport-fallback-reason')).toBe('timeout');
    expect(answer.ms).toBeGreaterThanOrEqual(280);
    expect(answer.ms).toBeLessThan(1200);
  });

  it('ends a stream that goes silent for idle_ms with an error event, without falling back', async () => {
    primary.setFault({ kind: 'stall_after_chunks', chunks: 2 }, 1);
    const before = backup.chatRequests();
    const answer = await ask(gateway.url, 'bounded', { stream: true });
    expect(answer.status).toBe(200);
    expect(target(answer)).toBe('slow/gpt-4o-mini');
    const last = answer.text.trim().split('\n\n').at(-1) ?? '';
    expect(JSON.parse(last.slice('data: '.length))).toMatchObject({ error: { type: 'server_error' } });
    expect(answer.ms).toBeLessThan(1500);
    expect(backup.chatRequests()).toBe(before);
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, skips the target at no cost, half-opens, and closes on success', async () => {
    primary.setFault(FAULTS.serverError());
    for (let i = 0; i < 3; i++) {
      const answer = await ask(gateway.url, 'guarded');
      expect(target(answer)).toBe('backup/gpt-4o-mini');
      expect(attempts(answer)).toBe('2');
    }
    const failedCalls = primary.chatRequests();
    for (let i = 0; i < 5; i++) {
      const answer = await ask(gateway.url, 'guarded');
      expect(answer.status).toBe(200);
      expect(target(answer)).toBe('backup/gpt-4o-mini');
      expect(attempts(answer)).toBe('1');
      expect(answer.headers.get('x-lightport-fallback-reason')).toBe('circuit_open');
    }
    expect(primary.chatRequests()).toBe(failedCalls);
    expect(await circuitGauge('flaky/gpt-4o-mini')).toBe(2);

    // Half-open: one probe goes through; it fails, so the circuit opens again.
    await sleep(900);
    expect(attempts(await ask(gateway.url, 'guarded'))).toBe('2');
    expect(primary.chatRequests()).toBe(failedCalls + 1);
    expect(attempts(await ask(gateway.url, 'guarded'))).toBe('1');
    expect(primary.chatRequests()).toBe(failedCalls + 1);

    // The target recovers: the next probe succeeds and closes the circuit.
    primary.setFault(undefined);
    await sleep(900);
    const probe = await ask(gateway.url, 'guarded');
    expect(target(probe)).toBe('flaky/gpt-4o-mini');
    const after = await ask(gateway.url, 'guarded');
    expect(target(after)).toBe('flaky/gpt-4o-mini');
    expect(after.headers.get('x-lightport-fallback-reason')).toBeNull();
    expect(await circuitGauge('flaky/gpt-4o-mini')).toBe(0);
  });

  it('answers 503 with Retry-After when the only target is open', async () => {
    primary.setFault(FAULTS.serverError());
    for (let i = 0; i < 3; i++) expect((await ask(gateway.url, 'alone')).status).toBe(500);
    const before = primary.chatRequests();
    const answer = await ask(gateway.url, 'alone');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'targets_unavailable' } });
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(primary.chatRequests()).toBe(before);
  });
});
