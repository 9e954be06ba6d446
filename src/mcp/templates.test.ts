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

  it('percent-encodes every value of a several-variable expression, reserved characters included (RFC 6570)', () => {
    const user = 'a/b?c#d,e/../f';
    const model = 'openai/gpt-4o';
    const render = (source: string) => new RequestTemplate(source, 'uri').render(vars({ user, model }));
    const u = 'a%2Fb%3Fc%23d%2Ce%2F..%2Ff';
    const m = 'openai%2Fgpt-4o';
    expect(render('http://h/p/{user,model}')).toEqual({ ok: true, text: `http://h/p/${u},${m}` });
    expect(render('http://h/p?of={user,model}')).toEqual({ ok: true, text: `http://h/p?of=${u},${m}` });
    expect(render('http://h/p{/user,model}')).toEqual({ ok: true, text: `http://h/p/${u}/${m}` });
    expect(render('http://h/p{?user,model}')).toEqual({ ok: true, text: `http://h/p?user=${u}&model=${m}` });
    expect(render('http://h/p?x=1{&user,model}')).toEqual({ ok: true, text: `http://h/p?x=1&user=${u}&model=${m}` });
    expect(render('http://h/p{;user,model}')).toEqual({ ok: true, text: `http://h/p;user=${u};model=${m}` });
    expect(render('crm://accounts/x{.user,model}')).toEqual({ ok: true, text: `crm://accounts/x.${u}.${m}` });
  });

  it('expands the RFC 6570 examples of levels 1 to 3, and prefixes', () => {
    const values = vars({ var: 'value', hello: 'Hello World!', x: '1024', y: '768', empty: '', path: '/foo/bar' });
    const render = (source: string) => new RequestTemplate(`http://h/${source}`, 'uri').render(values);
    expect(render('{hello}')).toEqual({ ok: true, text: 'http://h/Hello%20World%21' });
    expect(render('map?{x,y}')).toEqual({ ok: true, text: 'http://h/map?1024,768' });
    expect(render('{x,hello,y}')).toEqual({ ok: true, text: 'http://h/1024,Hello%20World%21,768' });
    expect(render('{path}')).toEqual({ ok: true, text: 'http://h/%2Ffoo%2Fbar' });
    expect(render('{x,empty}')).toEqual({ ok: true, text: 'http://h/1024,' });
    expect(render('{var:3}')).toEqual({ ok: true, text: 'http://h/val' });
    expect(render('{hello:5}{?var}')).toEqual({ ok: true, text: 'http://h/Hello?var=value' });
    // Sub-delimiters that encodeURIComponent leaves alone are reserved too.
    expect(new RequestTemplate('http://h/{user}', 'uri').render(vars({ user: "it's(ok)!*" }))).toEqual({
      ok: true,
      text: 'http://h/it%27s%28ok%29%21%2A',
    });
  });

  it('refuses a . or .. segment made by a several-variable path expansion', () => {
    const template = new RequestTemplate('http://h/p{/user,model}/card', 'uri');
    expect(template.render(vars({ user: '..', model: 'm' }))).toEqual({ ok: false, missing: 'user' });
    expect(template.render(vars({ user: 'u', model: '.' }))).toEqual({ ok: false, missing: 'model' });
    expect(template.render(vars({ user: '...', model: 'm' }))).toEqual({ ok: true, text: 'http://h/p/.../m/card' });
  });

  it('treats a value no URI can hold (a lone surrogate) as unusable instead of throwing', () => {
    const template = new RequestTemplate('http://h/{user}', 'uri');
    expect(template.render(vars({ user: 'a\uD800b' }))).toEqual({ ok: false, missing: 'user' });
    expect(new RequestTemplate('http://h/{model,user}', 'uri').render(vars({ user: '\uDC00', model: 'm' }))).toEqual({
      ok: false,
      missing: 'user',
    });
  });

  it('refuses reserved expansion at load, without quoting the URL (its path may hold a token)', () => {
    for (const source of ['http://h/sk-tok-1234/{+user}', 'http://h/sk-tok-1234/{#user}']) {
      expect(() => new RequestTemplate(source, 'uri')).toThrow(/reserved expansion/);
      expect(() => new RequestTemplate(source, 'uri')).not.toThrow(/sk-tok-1234/);
    }
    // Not an RFC 6570 expression either: an operator can only come first.
    expect(() => new RequestTemplate('http://h/sk-tok-1234/{model,+user}', 'uri')).toThrow(/template expression/);
    expect(() => new RequestTemplate('http://h/sk-tok-1234/{model,+user}', 'uri')).not.toThrow(/sk-tok-1234/);
  });

  it('substitutes plain text as is', () => {
    expect(new RequestTemplate('customer {user}', 'text').render(vars({ user: '..' }))).toEqual({ ok: true, text: 'customer ..' });
  });
});
