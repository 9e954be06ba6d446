import { describe, expect, it } from 'vitest';
import { checkRule, compileRule, compileRuleSet, type RuleScope } from './rule-compiler.ts';

const scope = (request: object = {}, caller: object = {}, time: object = {}): RuleScope =>
  ({ request, caller, time }) as unknown as RuleScope;
const run = (source: string, at: RuleScope) => compileRule(source)(at);

describe('rule grammar: what is refused', () => {
  it.each([
    ['process.env.HOME', /unknown name "process"/],
    ['globalThis.process', /unknown name "globalThis"/],
    ['request.constructor', /access to "constructor" is not allowed/],
    ['request.metadata.constructor', /access to "constructor" is not allowed/],
    ['request.metadata["__proto__"]', /access to "__proto__" is not allowed/],
    ['request.metadata.prototype', /access to "prototype" is not allowed/],
    ['request.model.constructor.constructor("return process")()', /access to "constructor" is not allowed/],
    ['request.model = "x"', /assignment is not allowed/],
    ['request.metadata.count++', /increment or decrement is not allowed/],
    ['new Date()', /"new" is not allowed/],
    ['eval("1")', /"eval" cannot be called/],
    ['request.tools.map(lower)', /"map" cannot be called/],
    ['Function("return 1")()', /only the helper functions may be called|cannot be called/],
    ['(() => 1)()', /a function is not allowed/],
    ['`${request.model}`', /template literals/],
    ['this.x', /"this" is not allowed/],
    ['typeof request.model == "string"', /operator "typeof"/],
    ['"model" in request', /operator "in"/],
    ['request.model == "a"; process.exit()', /unexpected ";/],
    ['request.model, process', /comma operator/],
    ['({}).x', /object literal/],
    ['/a/.test(request.model)', /regular expression literals/],
    ['matches(request.model, request.user)', /string literals/],
    ['matches(request.model, "(")', /invalid pattern/],
    ['matches(request.model, "^(a+)+$")', /exponential time/],
    ['includes(request.tools)', /takes 2 argument/],
    ['request.', /not a JavaScript expression/],
    ['caller.nope == 1', /caller has no field "nope"/],
  ])('refuses %s', (source, message) => {
    const error = checkRule(source);
    expect(error?.message).toMatch(message);
    expect(error?.column).toBeGreaterThanOrEqual(1);
  });

  it('points at the offending column', () => {
    expect(checkRule('request.stream && process.exit()')?.column).toBe(19);
  });
});

describe('rule evaluation', () => {
  it('evaluates the README example', () => {
    const rule = 'request.metadata.plan == "free" && request.estimatedTokens < 4000';
    expect(run(rule, scope({ metadata: { plan: 'free' }, estimatedTokens: 100 }))).toBe(true);
    expect(run(rule, scope({ metadata: { plan: 'pro' }, estimatedTokens: 100 }))).toBe(false);
    expect(run(rule, scope({ metadata: { plan: 'free' }, estimatedTokens: 9000 }))).toBe(false);
    expect(run(rule, scope({ estimatedTokens: 1 }))).toBe(false);
  });

  it('supports helpers in both call styles, logic, arithmetic and ?:', () => {
    const at = scope({ model: 'GPT-4o', tools: ['search', 'calc'], messageCount: 3 }, { tags: ['beta'], user: 'u-1' }, { hour: 22 });
    expect(run('includes(request.tools, "calc") && request.tools.includes("search")', at)).toBe(true);
    expect(run('lower(request.model).startsWith("gpt") && request.model.toUpperCase() == "GPT-4O"', at)).toBe(true);
    expect(run('matches(request.model, "^gpt-4", "i") && request.model.endsWith("4o")', at)).toBe(true);
    expect(run('caller.tags.includes("beta") || caller.user == "nobody"', at)).toBe(true);
    expect(run('(request.messageCount * 2 + 1) % 7 == 0 && request.tools.length == 2', at)).toBe(true);
    expect(run('(time.hour >= 22 ? "night" : "day") == "night"', at)).toBe(true);
    expect(run('["a", "b"].includes(caller.user) || request.metadata?.plan == null', at)).toBe(true);
    expect(run('request.tools[1] == "calc" && request["model"] != "x"', at)).toBe(true);
    expect(run('-request.messageCount < 0 && !request.stream', at)).toBe(true);
    expect(run('request.metadata.plan ?? "free" == "free"', at)).toBe(true);
  });

  it('never coerces and never throws on missing data', () => {
    const at = scope({ metadata: { n: '5' } });
    expect(run('request.metadata.n == 5', at)).toBe(false);
    expect(run('request.metadata.n > 4', at)).toBe(false);
    expect(run('request.metadata.deep.deeper.deepest == 1', at)).toBe(false);
    expect(run('request.model.startsWith("x")', at)).toBe(false);
    expect(run('request.metadata[caller.key] == 1', at)).toBe(false);
  });

  it('compares with literals on either side exactly as same() does, and always yields a boolean', () => {
    const at = scope({ metadata: { plan: 'pro', count: 3, on: true } });
    expect(run('request.metadata.plan == "pro" && "pro" === request.metadata.plan', at)).toBe(true);
    expect(run('request.metadata.plan != "free" && "free" !== request.metadata.plan', at)).toBe(true);
    expect(run('request.metadata.count == 3 && request.metadata.on == true && false != request.metadata.on', at)).toBe(true);
    expect(run('request.metadata.count == "3"', at)).toBe(false);
    // null equals a missing field (undefined), as same() says; a non-null literal never does.
    expect(run('request.metadata.missing == null && null == request.metadata.missing', at)).toBe(true);
    expect(run('request.metadata.missing == "x" || request.metadata.missing == 0', at)).toBe(false);
    for (const rule of ['request.metadata.plan', 'request.metadata.plan && request.metadata.count', 'request.metadata.none || 0']) {
      expect(typeof run(rule, at)).toBe('boolean');
    }
    expect(compileRuleSet(['request.metadata.count', 'request.metadata.plan == "pro"'])(at)).toBe(0);
    expect(compileRuleSet(['request.metadata.none', '!request.metadata.none && request.metadata.count > 2'])(at)).toBe(1);
  });

  it('cannot reach prototypes through computed keys chosen at run time', () => {
    const at = scope({ metadata: { k: 'constructor' } }, { metadata: {} });
    expect(run('caller.metadata[request.metadata.k] != null', at)).toBe(false);
    expect(run('request.metadata.k.length == 11', at)).toBe(true);
  });
});

describe('rules compiled to code', () => {
  it('keeps quotes, backslashes and line breaks in literals and keys as data, never as code', () => {
    const hostile = ['"); process.exit(1); ("', "\\'); globalThis.x = 1; //", '\u2028}); throw 1; ({', '*/ process.exit(1) /*'];
    for (const text of hostile) {
      const literal = JSON.stringify(text);
      expect(run(`request.model == ${literal}`, scope({ model: text }))).toBe(true);
      expect(run(`request.model == ${literal}`, scope({ model: 'other' }))).toBe(false);
      expect(run(`request.metadata[${literal}] == 1`, scope({ metadata: { [text]: 1 } }))).toBe(true);
      expect(run(`matches(request.model, ${JSON.stringify(text.replaceAll(/[()*\\]/g, '.'))})`, scope({ model: text }))).toBe(true);
    }
    expect((globalThis as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('runs a set of rules as one function: the index of the first that holds, or -1', () => {
    const firstRule = compileRuleSet([
      'request.metadata.plan == "free"',
      'caller.tags.includes("beta") && matches(request.model, "^gpt-")',
      'matches(lower(request.model), "^claude")',
    ]);
    expect(firstRule(scope({ metadata: { plan: 'free' }, model: 'gpt-4o' }, { tags: ['beta'] }))).toBe(0);
    expect(firstRule(scope({ metadata: {}, model: 'gpt-4o' }, { tags: ['beta'] }))).toBe(1);
    expect(firstRule(scope({ metadata: {}, model: 'Claude-3' }, { tags: [] }))).toBe(2);
    expect(firstRule(scope({ metadata: {}, model: 'mistral' }, { tags: [] }))).toBe(-1);
    expect(compileRuleSet([])(scope())).toBe(-1);
  });
});
