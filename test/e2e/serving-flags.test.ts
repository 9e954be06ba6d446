import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli, startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const CONFIG = 'providers:\n  local: { type: mock }\nmodels:\n  demo: { provider: local, model: d1 }\n';

/** The command line the process with this id runs now (after any re-launch, which keeps the id). */
function commandLine(pid: number | undefined): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

const nodeFlags = (line: readonly string[]): string[] => line.slice(1, line.indexOf(BIN));

describe('lightport start and LIGHTPORT_SEMI_SPACE_MB', () => {
  let gateway: GatewayProcess | undefined;
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
  });

  it('runs on Node defaults unless LIGHTPORT_SEMI_SPACE_MB asks otherwise', async () => {
    gateway = await startGateway({ config: CONFIG });
    expect(nodeFlags(commandLine(gateway.child.pid))).toEqual([]);
    await gateway.stop();
    gateway = await startGateway({ config: CONFIG, env: { LIGHTPORT_SEMI_SPACE_MB: '0' } });
    expect(nodeFlags(commandLine(gateway.child.pid))).toEqual([]);
  });

  it('with LIGHTPORT_SEMI_SPACE_MB re-launches itself, same process id, with that young generation, serves and drains on SIGTERM', async () => {
    gateway = await startGateway({ config: CONFIG, env: { LIGHTPORT_SEMI_SPACE_MB: '32' } });
    expect(nodeFlags(commandLine(gateway.child.pid))).toEqual(['--min-semi-space-size=32', '--max-semi-space-size=32']);
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(await gateway.stop()).toBe(0);
    expect(gateway.output().stderr).toContain('Lightport stopped.');
  });

  it("leaves a user's own semi-space flag alone", async () => {
    gateway = await startGateway({ config: CONFIG, nodeArgs: ['--max-semi-space-size=8'], env: { LIGHTPORT_SEMI_SPACE_MB: '32' } });
    expect(nodeFlags(commandLine(gateway.child.pid))).toEqual(['--max-semi-space-size=8']);
  });

  it('refuses a setting that is not a size, naming the variable', async () => {
    const { code, stderr } = await runCli(['start', '--port', '0'], { env: { LIGHTPORT_SEMI_SPACE_MB: '32mb' } });
    expect(code).toBe(2);
    expect(stderr).toContain('LIGHTPORT_SEMI_SPACE_MB must be a whole number of megabytes from 0 to 1024, not "32mb"');
  });

  it('does not re-launch for commands that do not serve', async () => {
    const { code, stdout } = await runCli(['validate', 'examples/lightport.yaml'], { env: { LIGHTPORT_SEMI_SPACE_MB: '32mb' } });
    expect(code).toBe(0);
    expect(stdout).toContain('is valid');
  });
});
