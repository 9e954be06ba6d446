import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/gateway-process.ts';

const fixtures = path.resolve(REPO_ROOT, '../shared/fixtures/providers');

function conformance(dir: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['conformance/run.ts', dir], { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '' } });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}

describe('npm run conformance', () => {
  it('fails on a folder with no recordings', async () => {
    const { code, stdout } = await conformance(mkdtempSync(path.join(tmpdir(), 'conformance-empty-')));
    expect(code).not.toBe(0);
    expect(stdout).toMatch(/^0 passed, 0 failed$/m);
  });

  it('passes a good recording and fails a stream cut before its end, saying which', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'conformance-'));
    mkdirSync(path.join(dir, 'anthropic'));
    copyFileSync(path.join(fixtures, 'anthropic/anthropic-text.json'), path.join(dir, 'anthropic/good.json'));
    copyFileSync(path.join(fixtures, 'anthropic/anthropic-text.chunks.txt'), path.join(dir, 'anthropic/good.chunks.txt'));
    const lines = readFileSync(path.join(fixtures, 'anthropic/anthropic-text.chunks.txt'), 'utf8').trim().split('\n');
    writeFileSync(path.join(dir, 'anthropic/cut.chunks.txt'), lines.slice(0, 4).join('\n') + '\n');
    const { code, stdout } = await conformance(dir);
    expect(stdout).toMatch(/^PASS anthropic\/good: completion, stream, twins agree$/m);
    expect(stdout).toMatch(/^FAIL anthropic\/cut: .*ended before its final event/m);
    expect(stdout).toMatch(/^1 passed, 1 failed$/m);
    expect(code).toBe(1);
  });
});
