import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, startGateway, writeTempConfig } from '../support/gateway-process.ts';

describe('lightport CLI', () => {
  it('validate prints every problem with file, line and path, and exits 1', async () => {
    const file = writeTempConfig('server:\n  prot: 1\nproviders:\n  o:\n    type: openai\n    api_key: ${MISSING_KEY_VAR}\n');
    const { code, stderr } = await runCli(['validate', file]);
    expect(code).toBe(1);
    expect(stderr).toContain(`${file}:2:3 server.prot: unknown key "prot" (did you mean "port"?)`);
    expect(stderr).toContain(`${file}:6:14 providers.o.api_key: environment variable MISSING_KEY_VAR is not set`);
    expect(stderr).toContain('2 problem(s)');
  });

  it('validate accepts the bundled example and exits 0', async () => {
    const { code, stdout } = await runCli(['validate', 'examples/lightport.yaml']);
    expect(code).toBe(0);
    expect(stdout).toContain('is valid');
  });

  it('init writes a commented starter that validates, and will not overwrite it', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'lightport-init-'));
    expect((await runCli(['init'], { cwd: directory })).code).toBe(0);
    const written = readFileSync(join(directory, 'lightport.yaml'), 'utf8');
    expect(written).toMatch(/^# /m);
    expect((await runCli(['validate', 'lightport.yaml'], { cwd: directory })).code).toBe(0);
    const again = await runCli(['init'], { cwd: directory });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--force');
  });

  it('schema prints the JSON Schema, which matches the committed lightport.schema.json', async () => {
    const { code, stdout } = await runCli(['schema']);
    expect(code).toBe(0);
    const schema = JSON.parse(stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['server', 'providers', 'models', 'passthrough']));
    expect(stdout).toBe(readFileSync(join(REPO_ROOT, 'lightport.schema.json'), 'utf8'));
  });

  it('start refuses a broken config with its problems and exit 1', async () => {
    const file = writeTempConfig('server:\n  port: nope\n');
    const { code, stderr } = await runCli(['start', '--config', file]);
    expect(code).toBe(1);
    expect(stderr).toContain('server.port');
  });

  it('with no arguments starts on ./lightport.yaml, printing address, providers, models and skipped providers', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'lightport-cwd-'));
    writeFileSync(
      join(directory, 'lightport.yaml'),
      'server: { port: 0 }\nproviders:\n  local: { type: mock }\n  openai: { type: openai, api_key: "${OPENAI_API_KEY:-}" }\nmodels:\n  demo: { provider: local, model: d1 }\n',
    );
    const gateway = await startGateway({ cwd: directory, rawArgs: [] });
    const { stderr } = gateway.output();
    expect(stderr).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(stderr).toContain('local (mock)');
    expect(stderr).toContain('demo -> local/d1');
    expect(stderr).toMatch(/skipped:\s+openai \(openai\): no api_key/);
    expect(await gateway.stop()).toBe(0);
  });

  it('falls back to the bundled example config, whose mock answers the first curl', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'lightport-empty-'));
    const gateway = await startGateway({ cwd: directory });
    expect(gateway.output().stderr).toContain(join('examples', 'lightport.yaml'));
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'mock-echo', messages: [{ role: 'user', content: 'hello gateway' }] }),
    });
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]?.message.content).toBe('hello gateway');
    expect(await gateway.stop()).toBe(0);
  });

  it('prints usage for an unknown command', async () => {
    const { code, stderr } = await runCli(['frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: lightport');
  });
});
