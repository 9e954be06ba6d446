import { renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { ask, type Answer } from '../support/ask.ts';
import { startGateway, writeTempConfig, type GatewayProcess } from '../support/gateway-process.ts';
import { targetOf } from '../support/target-headers.ts';

const ADMIN_KEY = 'admin-key-for-tests-0123456789';
let a: OpenAIUpstream;
let b: OpenAIUpstream;
let gateway: GatewayProcess;
let file: string;

const configFor = (upstream: 'a' | 'b', extra = '') => `
providers:
  a: { type: openai-compatible, base_url: "${a.url}", api_key: sk-provider-secret-a }
  b: { type: openai-compatible, base_url: "${b.url}", api_key: sk-provider-secret-b }
admin: { key: "${ADMIN_KEY}" }
models:
  live: { provider: ${upstream}, model: gpt-4o-mini }
${extra}`;

const target = (answer: Answer) => targetOf(answer.headers);

/** Sends requests, `workers` at a time, until stopped; returns every answer. */
function keepAsking(workers: number): { stop(): Promise<Answer[]> } {
  const answers: Answer[] = [];
  const state = { running: true };
  const loops = Array.from({ length: workers }, async () => {
    while (state.running) answers.push(await ask(gateway.url, 'live'));
  });
  return {
    stop: async () => {
      state.running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

function admin(path: string, init: RequestInit = {}, key: string | null = ADMIN_KEY): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    ...init,
    headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...init.headers },
  });
}

function put(body: unknown): Promise<Response> {
  return admin('/admin/routing', { method: 'PUT', body: JSON.stringify(body) });
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

beforeAll(async () => {
  [a, b] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream()]);
  file = writeTempConfig(configFor('a'));
  gateway = await startGateway({ rawArgs: ['start', '--port', '0', '--config', file] });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

describe('config file hot reload', () => {
  it('applies valid changes under load with zero failed requests', async () => {
    const load = keepAsking(4);
    for (let change = 0; change < 8; change++) {
      const next = change % 2 === 0 ? 'b' : 'a';
      if (change % 4 === 1) {
        // Editors often save by writing a new file and renaming it over the old one.
        writeFileSync(`${file}.tmp`, configFor(next));
        renameSync(`${file}.tmp`, file);
      } else {
        writeFileSync(file, configFor(next));
      }
      await until(async () => target(await ask(gateway.url, 'live')) === `${next}/gpt-4o-mini`);
    }
    const answers = await load.stop();
    expect(answers.length).toBeGreaterThan(50);
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(new Set(answers.map(target))).toEqual(new Set(['a/gpt-4o-mini', 'b/gpt-4o-mini']));
  });

  it('refuses an invalid change, logs its errors, and keeps the running config', async () => {
    writeFileSync(file, configFor('a'));
    await until(async () => target(await ask(gateway.url, 'live')) === 'a/gpt-4o-mini');
    writeFileSync(file, configFor('b', "  broken:\n    strategy: conditional\n    rules: [{ when: 'process.exit()', target: live }]\n"));
    await until(async () => gateway.output().stdout.includes('config change refused'));
    const logged = gateway.output().stdout;
    expect(logged).toContain('models.broken.rules[0].when');
    expect(logged).toContain('unknown name \\"process\\"');
    const answer = await ask(gateway.url, 'live');
    expect(answer.status).toBe(200);
    expect(target(answer)).toBe('a/gpt-4o-mini');
    expect(logged).not.toContain('sk-provider-secret');
  });
});

describe('admin API', () => {
  it('refuses callers without the admin key', async () => {
    expect((await admin('/admin/config', {}, null)).status).toBe(401);
    expect((await admin('/admin/config', {}, 'wrong-key')).status).toBe(401);
  });

  it('reads the running config with secrets redacted, and health', async () => {
    const response = await admin('/admin/config');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ models: { live: { provider: 'a' } }, providers: { a: { api_key: '[redacted]' } } });
    expect(text).not.toContain('sk-provider-secret');
    expect(text).not.toContain(ADMIN_KEY);
    const health = (await (await admin('/admin/health')).json()) as { targets: Array<{ target: string; circuit: string }> };
    expect(health.targets).toEqual(expect.arrayContaining([expect.objectContaining({ target: 'a/gpt-4o-mini', circuit: 'closed' })]));
  });

  it('replaces the routing section, with the same validation as the file', async () => {
    const refused = await put({ models: { live: { strategy: 'fallback', targets: ['nowhere/x', 'live'] } } });
    expect(refused.status).toBe(400);
    const problem = (await refused.json()) as { error: { code: string; message: string } };
    expect(problem.error.code).toBe('invalid_config');
    expect(problem.error.message).toContain('models.live.targets[0]');
    expect(problem.error.message).toContain('models form a cycle: live -> live');
    expect(target(await ask(gateway.url, 'live'))).toBe('a/gpt-4o-mini');

    const applied = await put({ models: { live: { strategy: 'fallback', targets: ['b/gpt-4o-mini', 'a/gpt-4o-mini'] } } });
    expect(applied.status).toBe(200);
    expect(await applied.json()).toMatchObject({ status: 'applied', models: ['live'] });
    expect(target(await ask(gateway.url, 'live'))).toBe('b/gpt-4o-mini');
  });
});
