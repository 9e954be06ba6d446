import { describe, expect, it } from 'vitest';
import { parseConfigText, type ConfigProblem } from './load.ts';

const PROVIDERS = 'providers:\n  p: { type: mock }\n  q: { type: mock }\n';

function problems(models: string): ConfigProblem[] {
  const result = parseConfigText(`${PROVIDERS}models:\n${models}`, 'test.yaml', {});
  if (result.ok) throw new Error('expected the config to be refused');
  return [...result.problems];
}

function accepts(models: string): void {
  const result = parseConfigText(`${PROVIDERS}models:\n${models}`, 'test.yaml', {});
  expect(result.ok ? [] : result.problems).toEqual([]);
}

describe('routing config', () => {
  it('keeps the { provider, model } form and accepts every strategy', () => {
    accepts(`
  one: { provider: p, model: m1 }
  safe: { strategy: fallback, targets: [one, q/m2, { provider: p, model: m3, retry: { attempts: 2 } }], on_status: [401] }
  spread: { strategy: loadbalance, method: least_latency, targets: [{ target: safe, weight: 2 }, one] }
  cheap: { strategy: cost, min_tier: standard, targets: [one, { provider: q, model: m2, price: { input_per_mtok: 1, output_per_mtok: 2 } }] }
  rules:
    strategy: conditional
    rules: [{ when: 'request.metadata.plan == "free"', target: cheap }]
    default: spread
`);
  });

  it('reports a cycle among models with its path and line', () => {
    const found = problems(`
  a: { strategy: fallback, targets: [b] }
  b:
    strategy: loadbalance
    targets:
      - one
      - target: a
  one: { provider: p, model: m }
`);
    expect(found).toEqual([
      expect.objectContaining({ path: 'models.b.targets[1].target', line: 11, message: 'models form a cycle: a -> b -> a' }),
    ]);
  });

  it('reports a bad rule with its path, line and the column inside the rule', () => {
    const [problem] = problems(`
  r:
    strategy: conditional
    rules:
      - when: 'request.stream && globalThis.process'
        target: p/m
`);
    expect(problem).toMatchObject({ path: 'models.r.rules[0].when', line: 9 });
    expect(problem?.message).toBe('invalid rule at column 19: unknown name "globalThis"; a rule reads only request, caller and time');
  });

  it('reports unknown targets with a suggestion, and unknown providers in inline targets', () => {
    const found = problems(`
  alpha: { provider: p, model: m }
  f: { strategy: fallback, targets: [alpah, { provider: x, model: m }, nowhere/m] }
`);
    expect(found.map((problem) => [problem.path, problem.message])).toEqual([
      ['models.f.targets[0]', expect.stringContaining('(did you mean "alpha"?)')],
      ['models.f.targets[1].provider', 'unknown provider "x" (did you mean "p"?)'],
      ['models.f.targets[2]', expect.stringContaining('neither a model under models nor <provider>/<model>')],
    ]);
  });

  it('refuses a target that mixes a reference with provider settings', () => {
    const [problem] = problems('  f: { strategy: fallback, targets: [{ target: p/m, retry: { attempts: 2 } }] }\n');
    expect(problem?.path).toBe('models.f.targets[0]');
    expect(problem?.message).toContain('retry go with provider and model');
  });

  it('suggests keys of the chosen strategy', () => {
    const [problem] = problems('  f: { strategy: loadbalance, targets: [p/m], metod: round_robin }\n');
    expect(problem?.message).toBe('unknown key "metod" (did you mean "method"?)');
  });

  it('names rules uniquely, and MCP policies attach only to rules that exist', () => {
    const found = problems(`
  a:
    strategy: conditional
    rules:
      - { name: vip, when: 'caller.user == "a"', target: p/m }
      - { name: vip, when: 'caller.user == "b"', target: q/m }
mcp:
  policies:
    - { rules: [vpi], servers: [] }
`);
    expect(found.map((problem) => [problem.path, problem.line, problem.message])).toEqual([
      ['models.a.rules[1].name', 10, 'rule name "vip" is taken by models.a.rules[0].name'],
      ['mcp.policies[0].rules[0]', 13, 'unknown routing rule "vpi" (did you mean "vip"?)'],
    ]);
  });

  it('checks the semantic cache embedding model names a model or <provider>/<model>', () => {
    const found = problems(`
  embedder: { provider: p, model: e1 }
cache:
  defaults: { mode: semantic, embedding_model: embeder }
  models:
    m: { embedding_model: q/e2 }
    n: { embedding_model: nope/e3 }
`);
    expect(found.map((problem) => [problem.path, problem.message])).toEqual([
      [
        'cache.defaults.embedding_model',
        '"embeder" is neither a model under models nor <provider>/<model> with a known provider (did you mean "embedder"?)',
      ],
      ['cache.models.n.embedding_model', '"nope/e3" is neither a model under models nor <provider>/<model> with a known provider'],
    ]);
  });
});
