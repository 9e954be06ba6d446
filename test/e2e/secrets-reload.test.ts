import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, writeTempConfig, type GatewayProcess } from '../support/gateway-process.ts';

/** Not key-shaped (no `sk-`), so only knowing the config redacts them. */
const ADDED_KEY = 'reload-added-provider-key-5150';
const ADDED_HEADER = 'reload-added-header-value-8086';

const sqlitePath = join(mkdtempSync(join(tmpdir(), 'lp-secrets-reload-')), 'requests.db');
let gateway: GatewayProcess;
let file: string;

const configWith = (extra = '') => `
logging: { level: info, bodies: all }
request_log: { sqlite_path: "${sqlitePath}", flush_ms: 20 }
providers:
  mock: { type: mock, response: echo }
${extra}
models:
  echo: { provider: mock, model: echo-model }
`;

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

beforeAll(async () => {
  file = writeTempConfig(configWith());
  gateway = await startGateway({ rawArgs: ['start', '--port', '0', '--config', file], env: { RELOAD_HEADER: ADDED_HEADER } });
});

afterAll(async () => {
  await gateway?.stop();
});

describe('redaction after a hot reload', () => {
  it('redacts the secrets a reload adds from the access log and the stored rows', async () => {
    writeFileSync(
      file,
      configWith(`  extra:
    type: openai-compatible
    base_url: http://127.0.0.1:9/v1
    api_key: ${ADDED_KEY}
    headers: { x-extra-auth: "\${RELOAD_HEADER}" }`),
    );
    await until(() => gateway.output().stdout.includes('config applied'));
    const reloadedAt = gateway.output().stdout.length;

    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: `remember ${ADDED_KEY} and ${ADDED_HEADER}` }] }),
    });
    expect(response.status).toBe(200);
    // The mock echoed the secrets back, so both bodies carried them.
    expect(await response.text()).toContain(ADDED_KEY);

    expect(await gateway.stop()).toBe(0);
    const logged = gateway.output().stdout.slice(reloadedAt);
    const accessLines = logged.split('\n').filter((line) => line.includes('"msg":"request"'));
    expect(accessLines).toHaveLength(1);
    expect(accessLines[0]).toContain('[redacted]');
    const db = new DatabaseSync(sqlitePath, { readOnly: true });
    const rows = db.prepare('SELECT request_body, response_body FROM lightport_request_log').all();
    db.close();
    expect(rows).toHaveLength(1);
    for (const text of [logged, gateway.output().stderr, JSON.stringify(rows)]) {
      expect(text).not.toContain(ADDED_KEY);
      expect(text).not.toContain(ADDED_HEADER);
    }
  });
});
