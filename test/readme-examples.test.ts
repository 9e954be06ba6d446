import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.ts';
import { REPO_ROOT } from './support/gateway-process.ts';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const yamlBlocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? '').filter((block) => /^\w+:/m.test(block));

describe('README configuration examples', () => {
  it('has examples to check', () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(2);
  });

  it.each(yamlBlocks.map((block, index) => [index, block]))('example %i is a valid config', (_index, block) => {
    const result = parseConfigText(block as string, 'README.md', {});
    expect(result.ok ? [] : result.problems).toEqual([]);
  });
});
