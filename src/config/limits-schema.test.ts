import { describe, expect, it } from 'vitest';
import { parseConfigText } from './load.ts';

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  const result = parseConfigText(yaml, 'test.yaml', env);
  return result.ok ? [] : result.problems.map((problem) => `${problem.line} ${problem.path}: ${problem.message}`);
}

describe('auth, limits and budgets config', () => {
  it('takes a key from the environment or as a SHA-256, with defaults for what the key may do', () => {
    const result = parseConfigText(
      `
auth:
  enabled: true
  keys:
    - name: ci
      key: \${CI_KEY}
    - { name: app, key_sha256: ${'ab'.repeat(32)}, team: web, budgets: [{ usd: 5, period: week }] }
`,
      'test.yaml',
      { CI_KEY: 'lp-0123456789abcdef' },
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.auth.keys[0]).toMatchObject({
      name: 'ci',
      key: 'lp-0123456789abcdef',
      models: ['*'],
      mcp: { servers: ['*'], tools: {} },
    });
    expect(result.config.limits).toMatchObject({ backend: 'memory', on_backend_error: 'open' });
    expect(result.config.budgets.thresholds).toEqual([0.5, 0.8, 1]);
  });

  it('needs exactly one of key or key_sha256, and unique key names', () => {
    expect(
      problems(`
auth:
  keys:
    - { name: a }
    - { name: b, key: lp-0123456789abcdef, key_sha256: ${'ab'.repeat(32)} }
    - { name: a, key_sha256: not-hex }
`),
    ).toEqual([
      '4 auth.keys[0]: give exactly one of key (from ${ENV_VAR}) or key_sha256',
      '5 auth.keys[1]: give exactly one of key (from ${ENV_VAR}) or key_sha256',
      '6 auth.keys[2].name: duplicate key name "a"',
      '6 auth.keys[2].key_sha256: expected 64 hex digits',
    ]);
  });

  it('refuses two budgets for the same period, thresholds above 1, and unknown keys with a hint', () => {
    expect(
      problems(`
auth:
  teams:
    web: { budgets: [{ usd: 1, period: day }, { usd: 2, period: day }] }
budgets:
  thresholds: [0.5, 1.5]
limits:
  per_usr: { requests_per_minute: 1 }
`),
    ).toEqual([
      '4 auth.teams.web.budgets[1].period: a second day budget',
      '6 budgets.thresholds[1]: Too big: expected number to be <=1',
      '8 limits.per_usr: unknown key "per_usr" (did you mean "per_user"?)',
    ]);
  });
});
