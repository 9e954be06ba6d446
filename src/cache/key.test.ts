import { describe, expect, it } from 'vitest';
import type { CachePolicyConfig } from '../config/cache-schema.ts';
import type { ChatRequest } from '../providers/types.ts';
import { addressId } from './answer-store.ts';
import { cacheNamespace, exactKey, RememberedKeys } from './key.ts';

const target = { provider: 'openai', upstreamModel: 'gpt-4o-mini' };
const policy = { namespace: 'default', per_key: true } as CachePolicyConfig;

describe('RememberedKeys', () => {
  it('gives the key exactKey gives, whether computed or remembered', () => {
    const keys = new RememberedKeys();
    const text = '{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}]}';
    const request = JSON.parse(text) as ChatRequest;
    const expected = exactKey(request, target, 'ns');
    expect(keys.exact(request, target, 'ns', text)).toBe(expected);
    expect(keys.exact(JSON.parse(text) as ChatRequest, target, 'ns', text)).toBe(expected);
    expect(keys.exact(request, target, 'ns', undefined)).toBe(expected);
  });

  it('never lets a remembered key stand for another namespace, target or body', () => {
    const keys = new RememberedKeys();
    const text = '{"model":"m","messages":[{"role":"user","content":"hi"}]}';
    const other = '{"model":"m","messages":[{"role":"user","content":"ho"}]}';
    const request = JSON.parse(text) as ChatRequest;
    const first = keys.exact(request, target, 'ns', text);
    expect(keys.exact(request, target, 'ns2', text)).toBe(exactKey(request, target, 'ns2'));
    expect(keys.exact(request, { ...target, upstreamModel: 'gpt-4o' }, 'ns', text)).not.toBe(first);
    expect(keys.exact(JSON.parse(other) as ChatRequest, target, 'ns', other)).toBe(
      exactKey(JSON.parse(other) as ChatRequest, target, 'ns'),
    );
    expect(keys.exact(JSON.parse(other) as ChatRequest, target, 'ns', other)).not.toBe(first);
  });

  it('gives a repeat the same address object, its id the one addressId makes from its parts', () => {
    const keys = new RememberedKeys();
    const text = '{"model":"a/b c","temperature":0,"messages":[{"role":"user","content":"hi"}]}';
    const first = keys.address(JSON.parse(text) as ChatRequest, target, 'ns', text);
    const again = keys.address(JSON.parse(text) as ChatRequest, target, 'ns', text);
    expect(again).toBe(first);
    expect(first.key).toBe(exactKey(JSON.parse(text) as ChatRequest, target, 'ns'));
    expect(first.id).toBe(addressId({ namespace: 'ns', model: 'a/b c', key: first.key }));
    expect(first.id).toBe('ns:a%2Fb%20c:' + first.key);
    expect(keys.address(JSON.parse(text) as ChatRequest, target, 'other', text)).not.toBe(first);
  });

  it('keys a body too long to remember afresh, with the same result', () => {
    const keys = new RememberedKeys();
    const text = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(40_000) }] });
    const request = JSON.parse(text) as ChatRequest;
    expect(keys.exact(request, target, 'ns', text)).toBe(exactKey(request, target, 'ns'));
  });

  it('remembers namespaces per caller, each the one cacheNamespace gives', () => {
    const keys = new RememberedKeys();
    for (const authorization of ['Bearer a', 'Bearer b', 'Bearer a', undefined]) {
      expect(keys.namespace(policy, authorization)).toBe(cacheNamespace(policy, authorization));
    }
    expect(keys.namespace(policy, 'Bearer a')).not.toBe(keys.namespace(policy, 'Bearer b'));
    expect(keys.namespace({ ...policy, per_key: false }, 'Bearer a')).toBe('default');
  });
});
