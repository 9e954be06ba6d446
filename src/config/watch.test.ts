import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigResult } from './load.ts';
import { watchConfigFile, type ConfigWatcher } from './watch.ts';

const configFor = (model: string): string =>
  `providers:\n  mock: { type: mock }\nmodels:\n  ${model}: { provider: mock, model: ${model}-1 }\n`;

function nextChange(): { onChange: (result: ConfigResult) => void; changed: Promise<ConfigResult> } {
  let resolve: (result: ConfigResult) => void = () => {};
  const changed = new Promise<ConfigResult>((done) => (resolve = done));
  return { onChange: (result) => resolve(result), changed };
}

const modelsOf = (result: ConfigResult): string[] => (result.ok ? Object.keys(result.config.models) : []);
const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  Promise.race([promise, new Promise<'timeout'>((done) => setTimeout(() => done('timeout'), ms))]);

describe('watchConfigFile', () => {
  let directory: string;
  let watcher: ConfigWatcher | undefined;
  afterEach(() => {
    watcher?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('sees a Kubernetes ConfigMap update, which swaps the ..data link and never names the file', async () => {
    directory = mkdtempSync(path.join(tmpdir(), 'lightport-watch-'));
    mkdirSync(path.join(directory, '..2026_12_06_a'));
    writeFileSync(path.join(directory, '..2026_12_06_a', 'lightport.yaml'), configFor('first'));
    symlinkSync('..2026_12_06_a', path.join(directory, '..data'));
    symlinkSync('..data/lightport.yaml', path.join(directory, 'lightport.yaml'));
    const { onChange, changed } = nextChange();
    watcher = watchConfigFile(path.join(directory, 'lightport.yaml'), configFor('first'), onChange, 20);
    await new Promise((done) => setTimeout(done, 100));

    mkdirSync(path.join(directory, '..2026_12_06_b'));
    writeFileSync(path.join(directory, '..2026_12_06_b', 'lightport.yaml'), configFor('second'));
    symlinkSync('..2026_12_06_b', path.join(directory, '..data_tmp'));
    renameSync(path.join(directory, '..data_tmp'), path.join(directory, '..data'));

    const result = await within(changed, 3000);
    expect(result).not.toBe('timeout');
    expect(modelsOf(result as ConfigResult)).toEqual(['second']);
  });

  it('sees an edit made at once after the config was loaded, before the watcher has read anything', async () => {
    directory = mkdtempSync(path.join(tmpdir(), 'lightport-watch-'));
    writeFileSync(path.join(directory, 'lightport.yaml'), configFor('first'));
    const { onChange, changed } = nextChange();
    watcher = watchConfigFile(path.join(directory, 'lightport.yaml'), configFor('first'), onChange, 20);
    writeFileSync(path.join(directory, 'lightport.yaml'), configFor('second'));

    const result = await within(changed, 3000);
    expect(result).not.toBe('timeout');
    expect(modelsOf(result as ConfigResult)).toEqual(['second']);
  });

  it('ignores writes to other files beside the config', async () => {
    directory = mkdtempSync(path.join(tmpdir(), 'lightport-watch-'));
    writeFileSync(path.join(directory, 'lightport.yaml'), configFor('first'));
    const { onChange, changed } = nextChange();
    watcher = watchConfigFile(path.join(directory, 'lightport.yaml'), configFor('first'), onChange, 20);
    await new Promise((done) => setTimeout(done, 100));
    for (let write = 0; write < 5; write++) writeFileSync(path.join(directory, 'lightport-requests.db-wal'), `row ${write}`);
    expect(await within(changed, 500)).toBe('timeout');

    writeFileSync(path.join(directory, 'lightport.yaml'), configFor('second'));
    const result = await within(changed, 3000);
    expect(modelsOf(result as ConfigResult)).toEqual(['second']);
  });
});
