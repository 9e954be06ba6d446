import { describe, expect, it } from 'vitest';
import { parseConfigText, type ConfigProblem } from './load.ts';

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  const result = parseConfigText(yaml, 'test.yaml', env);
  if (result.ok) throw new Error('expected the config to be refused');
  return [...result.problems];
}

function config(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const result = parseConfigText(yaml, 'test.yaml', env);
  if (!result.ok) throw new Error(result.problems.map((problem) => problem.message).join('\n'));
  return result.config;
}

describe('environment interpolation', () => {
  it('replaces ${VAR} and ${VAR:-default}, typing whole-value numbers', () => {
    const loaded = config(
      `
server:
  port: \${PORT:-9000}
  host: \${HOST}
providers:
  up:
    type: openai-compatible
    base_url: http://\${UP_HOST:-localhost}:8000/v1
    api_key: "\${KEY}"
`,
      { HOST: '0.0.0.0', KEY: 'k-1' },
    );
    expect(loaded.server.port).toBe(9000);
    expect(loaded.server.host).toBe('0.0.0.0');
    const provider = loaded.providers['up'];
    expect(provider?.type === 'openai-compatible' && provider.base_url).toBe('http://localhost:8000/v1');
    expect(provider?.type === 'openai-compatible' && provider.api_key).toBe('k-1');
  });

  it('keeps a variable that is not a plain number or boolean exactly as set, never parsing it as YAML', () => {
    const secrets = ['abc #def', 'abc\t#def', '"quoted"', '!!str x', '#abcdef', '~', 'null', '0123', '0x1F', '12345678901234567890123'];
    for (const secret of secrets) {
      const loaded = config(
        'providers:\n  up:\n    type: openai-compatible\n    base_url: http://localhost:8000/v1\n    api_key: ${KEY}\n',
        {
          KEY: secret,
        },
      );
      const provider = loaded.providers['up'];
      expect(provider?.type === 'openai-compatible' && provider.api_key).toBe(secret);
    }
    const typed = config('server:\n  port: ${PORT}\n  cors: ${CORS}\n', { PORT: '8080', CORS: 'false' });
    expect(typed.server.port).toBe(8080);
    expect(typed.server.cors).toBe(false);
  });

  it('uses the default when the variable is set but empty, and keeps $${VAR} literal', () => {
    const loaded = config('server:\n  host: ${HOST:-127.0.0.2}\nproviders:\n  m: { type: mock, response: { text: "$${NOT_A_VAR}" } }\n', {
      HOST: '',
    });
    expect(loaded.server.host).toBe('127.0.0.2');
    const mock = loaded.providers['m'];
    expect(mock?.type === 'mock' && mock.response).toEqual({ text: '${NOT_A_VAR}' });
  });

  it('names a missing required variable with its path and line', () => {
    const [problem] = problems('providers:\n  openai:\n    type: openai\n    api_key: ${OPENAI_API_KEY}\n');
    expect(problem).toMatchObject({ path: 'providers.openai.api_key', line: 4 });
    expect(problem?.message).toContain('OPENAI_API_KEY');
  });

  it('cannot change the YAML structure through a value', () => {
    const loaded = config('server:\n  host: ${EVIL}\n', { EVIL: 'x\nport: 1' });
    expect(loaded.server.host).toBe('x\nport: 1');
    expect(loaded.server.port).toBe(8787);
  });
});

describe('validation problems carry their YAML path and line', () => {
  it('reports YAML syntax errors with a line', () => {
    const [problem] = problems('server:\n  port: 8787\n   host: x\n');
    expect(problem?.path).toBe('(yaml)');
    expect(problem?.line).toBeGreaterThanOrEqual(2);
  });

  it('reports an alias without its anchor at its line, instead of throwing', () => {
    const [problem] = problems('providers:\n  m: { type: mock }\nmodels:\n  e: { provider: m, model: *nope }\n');
    expect(problem).toMatchObject({ path: '(yaml)', line: 4 });
    expect(problem?.message).toMatch(/alias.*nope/i);
  });

  it('refuses an alias bomb (exponential expansion) as a problem', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level < 8; level++) {
      const previous = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`);
    }
    const [problem] = problems(`${levels.join('\n')}\n`);
    expect(problem).toMatchObject({ path: '(yaml)', line: 2 });
    expect(problem?.message).toMatch(/alias/i);
  });

  it('reports duplicate keys', () => {
    expect(problems('server:\n  port: 1\n  port: 2\n')[0]?.message).toMatch(/unique|duplicate/i);
  });

  it("rejects unknown keys with a suggestion, at the key's line", () => {
    const found = problems(
      'server:\n  prot: 8080\nproviders:\n  o:\n    type: openai\n    api_kye: x\n    base_url: https://a.example/v1\n',
    );
    expect(found).toEqual([
      expect.objectContaining({ path: 'server.prot', line: 2, column: 3, message: 'unknown key "prot" (did you mean "port"?)' }),
      expect.objectContaining({ path: 'providers.o.api_kye', line: 6, message: 'unknown key "api_kye" (did you mean "api_key"?)' }),
    ]);
  });

  it('suggests keys from the provider type actually chosen', () => {
    const [problem] = problems('providers:\n  m:\n    type: mock\n    chunk_msec: 5\n');
    expect(problem?.message).toBe('unknown key "chunk_msec" (did you mean "chunk_ms"?)');
  });

  it('lists allowed keys when nothing is close', () => {
    expect(problems('server:\n  zzzzzzzz: 1\n')[0]?.message).toContain('allowed: port, host');
  });

  it('reports wrong types', () => {
    expect(problems('server:\n  port: eighty\n')[0]).toMatchObject({
      path: 'server.port',
      line: 2,
      message: expect.stringMatching(/expected number/),
    });
  });

  it('reports out-of-range numbers', () => {
    expect(problems('server:\n  port: 70000\n')[0]).toMatchObject({ path: 'server.port', message: expect.stringMatching(/65535/) });
  });

  it('reports an unknown provider type', () => {
    expect(problems('providers:\n  x:\n    type: openia\n')[0]).toMatchObject({ path: 'providers.x.type', line: 3 });
  });

  it('reports a missing required field at its parent', () => {
    expect(problems('providers:\n  c:\n    type: openai-compatible\n')[0]).toMatchObject({ path: 'providers.c.base_url', line: 3 });
  });

  it('reports an invalid URL', () => {
    expect(problems('providers:\n  c:\n    type: openai-compatible\n    base_url: not-a-url\n')[0]).toMatchObject({
      path: 'providers.c.base_url',
      line: 4,
    });
  });

  it('reports a model that names an unknown provider, with a suggestion', () => {
    expect(problems('providers:\n  openai: { type: mock }\nmodels:\n  a:\n    provider: opeani\n    model: x\n')[0]).toMatchObject({
      path: 'models.a.provider',
      line: 5,
      message: 'unknown provider "opeani" (did you mean "openai"?)',
    });
  });

  it('reports invalid provider names', () => {
    expect(problems('providers:\n  "bad/name": { type: mock }\n')[0]?.path).toBe('providers.bad/name');
  });

  it('reports every problem at once, in line order', () => {
    const found = problems('server:\n  port: x\n  hots: y\nproviders:\n  p: { type: nope }\nmodels:\n  m: { provider: q, model: z }\n');
    expect(found.map((problem) => problem.line)).toEqual([2, 3, 5, 7]);
  });

  it('accepts sizes like 10mb for the body limit', () => {
    expect(config('server:\n  body_limit: 2mb\n').server.body_limit).toBe(2 * 1024 * 1024);
    expect(problems('server:\n  body_limit: lots\n')[0]?.path).toBe('server.body_limit');
  });
});
