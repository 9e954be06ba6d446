import { describe, expect, it } from 'vitest';
import { RouteTable } from './routes.ts';

const exact = (): void => {};
const byId = (): void => {};

describe('RouteTable', () => {
  const routes = new RouteTable()
    .add('POST', '/v1/responses', exact)
    .addPrefix('GET', '/v1/responses/', byId)
    .addPrefix('DELETE', '/v1/responses/', byId);

  it('matches exact paths first, then paths under a prefix', () => {
    expect(routes.match('POST', '/v1/responses')).toBe(exact);
    expect(routes.match('GET', '/v1/responses/resp_1')).toBe(byId);
    expect(routes.match('GET', '/v1/responses/resp_1/input_items')).toBe(byId);
  });

  it('tells a wrong method from an unknown path', () => {
    expect(routes.match('POST', '/v1/responses/resp_1')).toEqual({ allowed: ['GET', 'DELETE'] });
    expect(routes.match('GET', '/v1/responses/')).toBeUndefined();
    expect(routes.match('GET', '/v1/other')).toBeUndefined();
  });
});
