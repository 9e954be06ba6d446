import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { FAULTS } from '../fakes/upstream-faults.ts';
import { ask } from '../support/ask.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { targetOf } from '../support/target-headers.ts';

let primary: OpenAIUpstream;
let backup: OpenAIUpstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  [primary, backup] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream()]);
  gateway = await startGateway({
    config: `
providers:
  primary: { type: openai-compatible, base_url: "${primary.url}", api_key: sk-test }
  backup: { type: openai-compatible, base_url: "${backup.url}", api_key: sk-test }
router:
  circuit: { failures: 2, open_ms: 600000, probe_interval_ms: 200 }
models:
  guarded: { strategy: fallback, targets: [primary/gpt-4o-mini, backup/gpt-4o-mini] }
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([primary?.close(), backup?.close()]);
});

describe('active probes', () => {
  it('close an open circuit as soon as its target answers again, long before open_ms', async () => {
    primary.setFault(FAULTS.serverError());
    for (let i = 0; i < 2; i++) await ask(gateway.url, 'guarded');
    expect((await ask(gateway.url, 'guarded')).headers.get('x-lightport-fallback-reason')).toBe('circuit_open');

    // While it fails, probes keep reaching it (one-token requests) and the circuit stays open.
    const failing = primary.chatRequests();
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(primary.chatRequests()).toBeGreaterThan(failing);
    const probe = primary.requests.at(-1)?.body as { max_tokens?: number };
    expect(probe.max_tokens).toBe(1);
    expect((await ask(gateway.url, 'guarded')).headers.get('x-lightport-fallback-reason')).toBe('circuit_open');

    primary.setFault(undefined);
    const healed = Date.now();
    let answer = await ask(gateway.url, 'guarded');
    while (targetOf(answer.headers) !== 'primary/gpt-4o-mini' && Date.now() - healed < 3000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      answer = await ask(gateway.url, 'guarded');
    }
    expect(targetOf(answer.headers)).toBe('primary/gpt-4o-mini');
    expect(Date.now() - healed).toBeLessThan(1500);
  });
});
