import { describe, expect, it } from 'vitest';
import { RequestTemplate } from './templates.ts';

const vars = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('request templates', () => {
  it('percent-encodes URI values, so they stay inside their path segment', () => {
    const template = new RequestTemplate('http://127.0.0.1/api/profiles/{user}', 'uri');
    expect(template.render(vars({ user: 'a/b?c' }))).toEqual({ ok: true, text: 'http://127.0.0.1/api/profiles/a%2Fb%3Fc' });
    expect(template.render(vars({ user: '...' }))).toEqual({ ok: true, text: 'http://127.0.0.1/api/profiles/...' });
    expect(template.render(vars({ user: 'a.b' }))).toEqual({ ok: true, text: 'http://127.0.0.1/api/profiles/a.b' });
    expect(template.render(vars({}))).toEqual({ ok: false, missing: 'user' });
  });

  it('refuses a value that would make a . or .. path segment, which URL parsers resolve', () => {
    const template = new RequestTemplate('http://127.0.0.1/api/profiles/{user}/card', 'uri');
    expect(template.render(vars({ user: '..' }))).toEqual({ ok: false, missing: 'user' });
    expect(template.render(vars({ user: '.' }))).toEqual({ ok: false, missing: 'user' });
    // A percent sign is encoded, so %2E in a value is no dot.
    expect(template.render(vars({ user: '.%2E' }))).toEqual({ ok: true, text: 'http://127.0.0.1/api/profiles/.%252E/card' });
    const joined = new RequestTemplate('crm://accounts/{metadata.a}{metadata.b}', 'uri');
    expect(joined.render(vars({ 'metadata.a': '.', 'metadata.b': '.' }))).toEqual({ ok: false, missing: 'metadata.a' });
    expect(joined.render(vars({ 'metadata.a': '.', 'metadata.b': 'x' }))).toEqual({ ok: true, text: 'crm://accounts/.x' });
    const segments = new RequestTemplate('crm://accounts{/user}', 'uri');
    expect(segments.render(vars({ user: '..' }))).toEqual({ ok: false, missing: 'user' });
  });

  it('leaves dots in the query alone, and dot segments the operator wrote', () => {
    expect(new RequestTemplate('http://127.0.0.1/search{?user}', 'uri').render(vars({ user: '..' }))).toEqual({
      ok: true,
      text: 'http://127.0.0.1/search?user=..',
    });
    expect(new RequestTemplate('http://127.0.0.1/a/../b/{user}', 'uri').render(vars({ user: 'x' }))).toEqual({
      ok: true,
      text: 'http://127.0.0.1/a/../b/x',
    });
  });

  it('substitutes plain text as is', () => {
    expect(new RequestTemplate('customer {user}', 'text').render(vars({ user: '..' }))).toEqual({ ok: true, text: 'customer ..' });
  });
});
