import { describe, expect, it } from 'vitest';
import { callerKey, generateKey, keyHint, KeyRing, mcpAllowlist, sha256, type KeyEntry, type KeyPolicy } from './keys.ts';

const policy: KeyPolicy = { metadata: {}, models: ['*'], mcp: { servers: [], tools: {} }, budgets: [] };
const entry = (name: string, secret: string, revoked = false): KeyEntry => ({
  name,
  sha256: sha256(secret),
  source: 'admin',
  revoked,
  policy,
});

describe('KeyRing', () => {
  it('tells a valid key from a revoked one and from one it has never seen', () => {
    const ring = new KeyRing<KeyEntry>();
    ring.put(entry('alice', 'lp-alice-secret-0001'));
    ring.put(entry('bob', 'lp-bob-secret-0002', true));
    expect(ring.verify('lp-alice-secret-0001')).toMatchObject({ kind: 'valid', key: { name: 'alice' } });
    expect(ring.verify('lp-bob-secret-0002')).toEqual({ kind: 'revoked' });
    expect(ring.verify('lp-alice-secret-0002')).toEqual({ kind: 'unknown' });
    expect(ring.verify('')).toEqual({ kind: 'unknown' });
  });

  it('forgets the old secret when a key is replaced under the same name (rotation)', () => {
    const ring = new KeyRing<KeyEntry>();
    ring.put(entry('alice', 'lp-old-secret-000001'));
    ring.put(entry('alice', 'lp-new-secret-000002'));
    expect(ring.verify('lp-old-secret-000001')).toEqual({ kind: 'unknown' });
    expect(ring.verify('lp-new-secret-000002')).toMatchObject({ kind: 'valid' });
    expect([...ring.entries()]).toHaveLength(1);
  });
});

describe('generated keys', () => {
  it('are lp- and 32 url-safe characters, different each time, with a hint that hides the middle', () => {
    const key = generateKey();
    expect(key).toMatch(/^lp-[A-Za-z0-9_-]{32}$/);
    expect(generateKey()).not.toBe(key);
    expect(keyHint(key)).toBe(`${key.slice(0, 7)}…${key.slice(-4)}`);
  });
});

describe('callerKey', () => {
  const caller = callerKey('ci', {
    ...policy,
    models: ['gpt-4o*', 'openai/*', 'mock-echo'],
    mcp: { servers: ['docs'], tools: { github: ['search_code', 'get_issue'] } },
  });

  it('matches model globs across slashes and exact names', () => {
    expect(['gpt-4o', 'gpt-4o-mini', 'openai/gpt-4.1', 'mock-echo'].map((model) => caller.allowsModel(model))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['gpt-4.1', 'mock-echo-2', 'anthropic/claude'].map((model) => caller.allowsModel(model))).toEqual([false, false, false]);
  });

  it('allows whole MCP servers, or only the listed tools of others', () => {
    expect(caller.allowsMcp('docs')).toBe(true);
    expect(caller.allowsMcp('docs', 'anything')).toBe(true);
    expect(caller.allowsMcp('github')).toBe(true);
    expect(caller.allowsMcp('github', 'search_code')).toBe(true);
    expect(caller.allowsMcp('github', 'delete_repo')).toBe(false);
    expect(caller.allowsMcp('filesystem')).toBe(false);
    expect(caller.allowsMcp('constructor')).toBe(false);
  });
});

describe('mcpAllowlist', () => {
  it('narrows the MCP stage to the key’s servers and tools, or not at all', () => {
    expect(mcpAllowlist({ servers: ['*'], tools: {} })).toBeUndefined();
    expect(mcpAllowlist({ servers: ['docs'], tools: { github: ['search_code'] } })).toEqual({
      servers: ['docs', 'github'],
      tools: { github: ['search_code'] },
    });
    expect(mcpAllowlist({ servers: ['*'], tools: { github: ['search_code'] } })).toEqual({ tools: { github: ['search_code'] } });
    expect(mcpAllowlist({ servers: [], tools: {} })).toEqual({ servers: [] });
  });
});
