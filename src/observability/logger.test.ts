import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const loggerModule = fileURLToPath(new URL('./logger.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

// A real process writing to a real pipe: lines are batched in a buffer and must come out whole,
// in order, multi-byte characters intact, including a line longer than the batch buffer and the
// lines still pending when the process exits.
it('writes every line whole and in order, through batches, oversized lines and exit', async () => {
  const script = `
    import pino from 'pino';
    import { createLogger } from ${JSON.stringify(loggerModule)};
    const logger = createLogger('info');
    const line = logger[pino.symbols.streamSym];
    for (let i = 0; i < 3000; i++) line.writeRecord({ i, text: 'héllo ✓ 😀 '.repeat(i % 7) });
    logger.info({ big: 'x'.repeat(100_000) + 'é' }, 'big');
    for (let i = 3000; i < 3010; i++) line.writeRecord({ i });
    setTimeout(() => { line.writeRecord({ i: 3010 }); process.exit(0); }, 50);
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 });
  const lines = stdout
    .trimEnd()
    .split('\n')
    .map((text) => JSON.parse(text) as { i?: number; text?: string; big?: string });
  const numbered = lines.filter((entry) => entry.i !== undefined).map((entry) => entry.i);
  expect(numbered).toEqual(Array.from({ length: 3011 }, (_, i) => i));
  expect(lines.find((entry) => entry.i === 6)?.text).toBe('héllo ✓ 😀 '.repeat(6));
  const bigAt = lines.findIndex((entry) => entry.big !== undefined);
  expect(lines[bigAt]?.big).toBe(`${'x'.repeat(100_000)}é`);
  expect(lines[bigAt - 1]?.i).toBe(2999);
  expect(lines[bigAt + 1]?.i).toBe(3000);
});
