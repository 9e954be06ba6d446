import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, writeTempConfig, type GatewayProcess } from '../support/gateway-process.ts';

const OLD_KEY = 'admin-key-before-reload-0123456789';
const NEW_KEY = 'admin-key-after-reload-9876543210';

const configWith = (adminKey: string) => `
providers:
  mock: { type: mock }
models:
  echo: { provider: mock, model: mock-echo-1 }
admin: { key: "${adminKey}" }
cache: { enabled: true }
`;

let gateway: GatewayProcess;
let file: string;

beforeAll(async () => {
  file = writeTempConfig(configWith(OLD_KEY));
  gateway = await startGateway({ rawArgs: ['start', '--port', '0', '--config', file] });
});

afterAll(async () => {
  await gateway?.stop();
});

async function status(path: string, key: string, method = 'GET'): Promise<number> {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}` },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  await response.text();
  return response.status;
}

describe('admin.key changed by a hot reload', () => {
  it('is the only admin key every admin route takes, /v1/usage and the cache purge included', async () => {
    // Without a request_log section the usage API answers 404 request_log_disabled, once past the admin key.
    expect(await status('/v1/usage', OLD_KEY)).toBe(404);
    expect(await status('/admin/cache/purge', OLD_KEY, 'POST')).toBe(200);

    writeFileSync(file, configWith(NEW_KEY));
    const deadline = Date.now() + 10_000;
    while ((await status('/admin/config', NEW_KEY)) !== 200) {
      if (Date.now() > deadline) throw new Error('the new admin key was not applied in time');
      await sleep(50);
    }

    for (const [path, method, passed] of [
      ['/admin/config', 'GET', 200],
      ['/v1/usage', 'GET', 404],
      ['/admin/cache/purge', 'POST', 200],
    ] as const) {
      expect({ path, old: await status(path, OLD_KEY, method) }).toEqual({ path, old: 401 });
      expect({ path, new: await status(path, NEW_KEY, method) }).toEqual({ path, new: passed });
    }
  });
});
