import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../pipeline/context.ts';
import { InFlightRequests } from './in-flight.ts';

const request = (id: string) => ({ id, inFlightIndex: -1 }) as unknown as RequestContext;
const ids = (list: InFlightRequests) => [...list].map((context) => context.id).toSorted();

describe('InFlightRequests', () => {
  it('adds, removes from any position and iterates what is left', () => {
    const list = new InFlightRequests();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(request) as [RequestContext, RequestContext, RequestContext, RequestContext];
    for (const context of [a, b, c, d]) list.add(context);
    expect(list.size).toBe(4);
    list.delete(b);
    expect(ids(list)).toEqual(['a', 'c', 'd']);
    list.delete(d);
    list.delete(a);
    expect(ids(list)).toEqual(['c']);
    expect(c.inFlightIndex).toBe(0);
    list.delete(c);
    expect(list.size).toBe(0);
  });

  it('ignores a request removed twice or never added', () => {
    const list = new InFlightRequests();
    const [a, b] = [request('a'), request('b')];
    list.add(a);
    list.delete(a);
    list.delete(a);
    list.delete(b);
    list.add(b);
    expect(ids(list)).toEqual(['b']);
  });

  it('iterates over a copy, so requests may leave during the iteration', () => {
    const list = new InFlightRequests();
    const all = ['a', 'b', 'c'].map(request);
    for (const context of all) list.add(context);
    const seen: string[] = [];
    for (const context of list) {
      seen.push(context.id);
      list.delete(context);
    }
    expect(seen.toSorted()).toEqual(['a', 'b', 'c']);
    expect(list.size).toBe(0);
  });
});
