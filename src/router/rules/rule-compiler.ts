import { parseExpressionAt, type Expression, type Literal, type Node, type SpreadElement, type Super, type PrivateIdentifier } from 'acorn';
import { RULE_FIELDS, type RuleScope } from './rule-fields.ts';
import { arithmetic, compare, HELPERS, METHOD_ALIASES, readField, same, truthy } from './rule-values.ts';
import safeRegex from 'safe-regex2';

export type { RuleScope } from './rule-fields.ts';
type RuleRoot = keyof RuleScope;
export type CompiledRule = (scope: RuleScope) => boolean;
/** The index of the first rule of a set that holds, or -1. */
export type CompiledRuleSet = (scope: RuleScope) => number;

/** A rule that is not an accepted expression; `column` is 1-based within the rule. */
export class RuleError extends Error {
  readonly column: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'RuleError';
    this.column = offset + 1;
  }
}

const MAX_LENGTH = 2000;
const MAX_DEPTH = 48;
const FORBIDDEN_NAMES = new Set(['constructor', '__proto__', 'prototype', '__defineGetter__', '__defineSetter__', '__lookupGetter__']);
const COMPARISONS = new Set(['<', '<=', '>', '>=']);
const ARITHMETIC = new Set(['+', '-', '*', '/', '%']);
const BINARY = new Set(['==', '===', '!=', '!==', ...COMPARISONS, ...ARITHMETIC]);
const PLAIN_NAME = /^[A-Za-z_$][\w$]*$/;
/** Helpers whose result is always true or false. */
const BOOLEAN_HELPERS = new Set(['includes', 'startsWith', 'endsWith', 'matches']);

/** Marks a shared subexpression not computed yet in this evaluation. */
const UNSET = Object.freeze({});

/** What generated rule code may call: nothing else is in its reach. */
const RUNTIME = Object.freeze({
  readField,
  readComputed: (value: unknown, name: unknown): unknown =>
    typeof name === 'string' && FORBIDDEN_NAMES.has(name) ? undefined : readField(value, name),
  truthy,
  same,
  compare,
  arithmetic,
  negate: (value: unknown): unknown => (typeof value === 'number' ? -value : undefined),
  plus: (value: unknown): unknown => (typeof value === 'number' ? value : undefined),
  helpers: Object.fromEntries(Object.entries(HELPERS).map(([name, helper]) => [name, helper.call])),
  UNSET,
});
const PRELUDE = `'use strict';
const { readField, readComputed, truthy, same, compare, arithmetic, negate, plus, helpers, UNSET } = runtime;
${Object.keys(HELPERS)
  .map((name) => `const helper_${name} = helpers.${name};`)
  .join('\n')}
`;

/**
 * What one compilation writes besides the expression: the patterns of matches() calls (compiled
 * once, named by position) and the subexpressions the rules share. Rules of a set tend to look
 * up the same metadata keys and call the same helpers on them; each such lookup or call is
 * computed at most once per evaluation, when first needed, into a local. Top-level fields
 * (`request.model`) are read directly: the scope already keeps what they cost to compute.
 */
class Emission {
  readonly patterns: RegExp[] = [];
  /** Emitted code known to evaluate to a boolean: a test needs no truthy() around it. */
  readonly #booleans = new Set<string>();

  boolean(code: string): string {
    this.#booleans.add(code);
    return code;
  }

  /** The code as a test: itself when it is a boolean already. */
  test(code: string): string {
    return this.#booleans.has(code) ? code : `truthy(${code})`;
  }

  readonly #definitions: string[] = [];
  readonly #ids = new Map<string, number>();
  readonly #uses: number[] = [];

  /** A placeholder for a pure subexpression; equal code gets the same one. */
  shared(code: string): string {
    let id = this.#ids.get(code);
    if (id === undefined) {
      id = this.#definitions.push(code) - 1;
      this.#ids.set(code, id);
      this.#uses.push(0);
    }
    this.#uses[id] = (this.#uses[id] ?? 0) + 1;
    return `\u0000${id}\u0000`;
  }

  /** The code with its placeholders written out: inline when used once, through its local otherwise. */
  resolve(code: string): string {
    // JSON-quoted literals never hold a raw NUL, so only placeholders match.
    // eslint-disable-next-line no-control-regex
    return code.replaceAll(/\u0000(\d+)\u0000/g, (_, digits: string) => {
      const id = Number(digits);
      const definition = this.resolve(this.#definitions[id] ?? 'undefined');
      return (this.#uses[id] ?? 0) > 1 ? `(shared_${id} !== UNSET ? shared_${id} : (shared_${id} = ${definition}))` : definition;
    });
  }

  /** Declarations of the locals, reset on every evaluation. */
  locals(): string {
    const names = this.#uses.flatMap((uses, id) => (uses > 1 ? [`shared_${id} = UNSET`] : []));
    return names.length === 0 ? '' : `let ${names.join(', ')};`;
  }
}

/**
 * Compiles a routing rule once, at load. The source is parsed by acorn and every node is
 * checked against a whitelist (literals, fields of `request`/`caller`/`time`, comparisons,
 * logic, arithmetic, `?:`, array literals, the helpers in rule-values.ts) while it is
 * written out as JavaScript. The generated code names only what RUNTIME holds, the scope's
 * whitelisted fields and JSON-quoted literals, so it can do exactly what the checked tree
 * says and reach no global, prototype or other function; V8 then compiles it like any of
 * our code, which matters when twenty rules run on every request.
 */
export function compileRule(source: string): CompiledRule {
  const emission = new Emission();
  const expression = emission.resolve(emission.test(translate(source, emission)));
  return generate(`return function rule(s) { ${emission.locals()} return ${expression}; };`, emission) as CompiledRule;
}

/** Rules evaluated in order as one function: the index of the first that holds, or -1. */
export function compileRuleSet(sources: readonly string[]): CompiledRuleSet {
  const emission = new Emission();
  const expressions = sources.map((source) => translate(source, emission));
  const tests = expressions.map((expression, index) => `  if (${emission.resolve(emission.test(expression))}) return ${index};`);
  return generate(
    `return function firstRule(s) {\n  ${emission.locals()}\n${tests.join('\n')}\n  return -1;\n};`,
    emission,
  ) as CompiledRuleSet;
}

function generate(body: string, emission: Emission): unknown {
  const { patterns } = emission;
  const named = patterns.map((_, index) => `const pattern_${index} = patterns[${index}];`).join('\n');
  // Code generation from checked trees only (see compileRule); nothing of the rule's text is pasted in.
  const factory = new Function('runtime', 'patterns', `${PRELUDE}${named}\n${body}`) as (runtime: unknown, patterns: RegExp[]) => unknown;
  return factory(RUNTIME, patterns);
}

/** The rule as a checked JavaScript expression over `s` (the scope). */
function translate(source: string, emission: Emission): string {
  if (source.length > MAX_LENGTH) throw new RuleError(`a rule is at most ${MAX_LENGTH} characters`, MAX_LENGTH);
  let tree: Expression;
  try {
    tree = parseExpressionAt(source, 0, { ecmaVersion: 'latest', sourceType: 'script' });
  } catch (error) {
    const position = (error as { pos?: number }).pos ?? 0;
    throw new RuleError(`not a JavaScript expression: ${(error as Error).message.replace(/\s*\(\d+:\d+\)$/, '')}`, position);
  }
  const rest = source.slice(tree.end);
  if (rest.trim() !== '')
    throw new RuleError(`unexpected "${rest.trim().slice(0, 20)}" after the expression`, tree.end + rest.search(/\S/));
  return emitNode(tree, 0, emission);
}

/** The problem with a rule, or undefined when it compiles. */
export function checkRule(source: string): RuleError | undefined {
  try {
    translate(source, new Emission());
    return undefined;
  } catch (error) {
    if (error instanceof RuleError) return error;
    throw error;
  }
}

function emitNode(node: Expression | SpreadElement | Super | PrivateIdentifier, depth: number, emission: Emission): string {
  if (depth > MAX_DEPTH) throw new RuleError('the expression is nested too deeply', node.start);
  const next = depth + 1;
  const emit = (child: Expression | SpreadElement | Super | PrivateIdentifier): string => emitNode(child, next, emission);
  switch (node.type) {
    case 'Literal':
      return emitLiteral(node.value, node);
    case 'TemplateLiteral': {
      if (node.expressions.length > 0) throw new RuleError('template literals with ${...} are not allowed; use +', node.start);
      return JSON.stringify(node.quasis.map((quasi) => quasi.value.cooked ?? '').join(''));
    }
    case 'Identifier':
      throw rootError(node.name, node);
    case 'MemberExpression':
      return emitMember(node, next, emission);
    case 'ChainExpression':
      return emit(node.expression);
    case 'ParenthesizedExpression':
      return emit(node.expression);
    case 'ArrayExpression': {
      const items = node.elements.map((element) => {
        if (element === null || element.type === 'SpreadElement')
          throw new RuleError('array holes and spreads are not allowed', node.start);
        return emit(element);
      });
      return `[${items.join(', ')}]`;
    }
    case 'UnaryExpression':
      return emitUnary(node.operator, emit(node.argument), node, emission);
    case 'BinaryExpression':
      if (!BINARY.has(node.operator)) throw new RuleError(`the operator "${node.operator}" is not allowed`, node.start);
      return emitBinary(node.operator, node.left, node.right, emit, emission);
    case 'LogicalExpression': {
      const left = emit(node.left);
      const right = emit(node.right);
      const bothBoolean = emission.test(right) === right;
      const logical = (code: string): string => (bothBoolean ? emission.boolean(code) : code);
      if (node.operator === '&&') return logical(`(${emission.test(left)} ? ${right} : false)`);
      if (node.operator === '||') return logical(`(${emission.test(left)} ? true : ${right})`);
      return `(${left} ?? ${right})`;
    }
    case 'ConditionalExpression':
      return `(${emission.test(emit(node.test))} ? ${emit(node.consequent)} : ${emit(node.alternate)})`;
    case 'CallExpression':
      return emitCall(node.callee, node.arguments, node, next, emission);
    default:
      throw new RuleError(`${describe(node.type)} is not allowed in a rule`, node.start);
  }
}

function emitLiteral(value: unknown, node: Node): string {
  if (value instanceof RegExp) throw new RuleError('regular expression literals are not allowed; use matches(text, "pattern")', node.start);
  if (typeof value === 'bigint') throw new RuleError('BigInt literals are not allowed', node.start);
  if (typeof value === 'number') return Number.isFinite(value) ? `(${value})` : 'undefined';
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return JSON.stringify(value);
  throw new RuleError('this literal is not allowed', node.start);
}

function emitMember(node: Extract<Expression, { type: 'MemberExpression' }>, depth: number, emission: Emission): string {
  if (node.object.type === 'Super') throw new RuleError('super is not allowed', node.start);
  const key = memberKey(node);
  if (node.object.type === 'Identifier') {
    const root = node.object.name;
    if (!isRoot(root)) throw rootError(root, node.object);
    const fields: readonly string[] = RULE_FIELDS[root];
    if (typeof key !== 'string' || !fields.includes(key) || !PLAIN_NAME.test(key)) {
      throw new RuleError(`${root} has no field ${JSON.stringify(key ?? '(computed)')}; fields: ${fields.join(', ')}`, node.property.start);
    }
    return `s.${root}.${key}`;
  }
  const object = emitNode(node.object, depth, emission);
  if (key !== undefined) return emission.shared(`readField(${object}, ${JSON.stringify(key)})`);
  return emission.shared(`readComputed(${object}, ${emitNode(node.property, depth, emission)})`);
}

/** The static key of `a.b` or `a["b"]`, refusing the names that lead to prototypes. */
function memberKey(node: Extract<Expression, { type: 'MemberExpression' }>): string | number | undefined {
  const property = node.property;
  let key: string | number | undefined;
  if (!node.computed && property.type === 'Identifier') key = property.name;
  else if (property.type === 'PrivateIdentifier') throw new RuleError('private names are not allowed', property.start);
  else if (property.type === 'Literal' && (typeof property.value === 'string' || typeof property.value === 'number')) key = property.value;
  if (typeof key === 'string' && FORBIDDEN_NAMES.has(key)) throw new RuleError(`access to "${key}" is not allowed`, property.start);
  if (typeof key === 'number' && !Number.isFinite(key)) return undefined;
  return key;
}

function emitUnary(operator: string, argument: string, node: Node, emission: Emission): string {
  switch (operator) {
    case '!':
      return emission.boolean(`(!${emission.test(argument)})`);
    case '-':
      return `negate(${argument})`;
    case '+':
      return `plus(${argument})`;
    default:
      throw new RuleError(`the operator "${operator}" is not allowed`, node.start);
  }
}

/** Equality with a literal on one side is plain `===`: with a non-null literal, same() is exactly that. */
function emitBinary(
  operator: string,
  leftNode: Expression | PrivateIdentifier,
  rightNode: Expression,
  emit: (child: Expression | PrivateIdentifier) => string,
  emission: Emission,
): string {
  const left = emit(leftNode);
  const right = emit(rightNode);
  const literal = plainLiteral(rightNode) ?? plainLiteral(leftNode);
  if (operator === '==' || operator === '===' || operator === '!=' || operator === '!==') {
    const equal = literal === undefined ? `same(${left}, ${right})` : `(${left} === ${right})`;
    return emission.boolean(operator.startsWith('!') ? `(!${equal})` : equal);
  }
  if (COMPARISONS.has(operator)) return emission.boolean(`compare(${JSON.stringify(operator)}, ${left}, ${right})`);
  if (ARITHMETIC.has(operator)) return `arithmetic(${JSON.stringify(operator)}, ${left}, ${right})`;
  throw new RuleError(`the operator "${operator}" is not allowed`, leftNode.start);
}

/** The value of a finite number, string or boolean literal; undefined for anything else (null included). */
function plainLiteral(node: Node): number | string | boolean | undefined {
  if (node.type !== 'Literal') return undefined;
  const { value } = node as Literal;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  return typeof value === 'string' || typeof value === 'boolean' ? value : undefined;
}

function emitCall(
  callee: Expression | Super,
  args: ReadonlyArray<Expression | SpreadElement>,
  node: Node,
  depth: number,
  emission: Emission,
): string {
  let name: string;
  const operands: Array<Expression | SpreadElement> = [...args];
  if (callee.type === 'Identifier') {
    name = callee.name;
    if (!Object.hasOwn(HELPERS, name)) throw unknownHelper(name, callee);
  } else if (callee.type === 'MemberExpression' && !callee.computed && callee.property.type === 'Identifier') {
    if (callee.object.type !== 'Super') emitNode(callee.object, depth, new Emission()); // its own problems first
    const alias = Object.hasOwn(METHOD_ALIASES, callee.property.name) ? METHOD_ALIASES[callee.property.name] : undefined;
    if (alias === undefined || callee.object.type === 'Super') throw unknownHelper(callee.property.name, callee.property);
    name = alias;
    operands.unshift(callee.object);
  } else {
    if (callee.type !== 'Super') emitNode(callee, depth, new Emission()); // its own problems first
    throw new RuleError('only the helper functions may be called', callee.start);
  }
  const helper = HELPERS[name];
  if (helper === undefined || !PLAIN_NAME.test(name)) throw unknownHelper(name, callee);
  const [fewest, most] = helper.arity;
  if (operands.length < fewest || operands.length > most) {
    throw new RuleError(`${name}() takes ${fewest === most ? fewest : `${fewest} or ${most}`} argument(s)`, node.start);
  }
  // The pattern and flags of matches() are compiled here; only the text is evaluated.
  const pattern =
    name === 'matches' ? `pattern_${emission.patterns.push(compilePattern(operands[1], operands[2], node)) - 1}` : 'undefined';
  const [first, second] = (name === 'matches' ? operands.slice(0, 1) : operands).map((operand) => emitNode(operand, depth, emission));
  if (first === undefined) throw unknownHelper(name, callee);
  const call = emission.shared(`helper_${name}(${first}, ${second ?? 'undefined'}, ${pattern})`);
  return BOOLEAN_HELPERS.has(name) ? emission.boolean(call) : call;
}

/** `matches(text, "pattern", "flags")`: the pattern is a literal, compiled once here. */
function compilePattern(source: Node | undefined, flags: Node | undefined, node: Node): RegExp {
  const pattern = literalText(source);
  const flagText = flags === undefined ? '' : literalText(flags);
  if (pattern === undefined || flagText === undefined)
    throw new RuleError('matches() takes its pattern and flags as string literals', node.start);
  if (!/^[imsu]*$/.test(flagText)) throw new RuleError('matches() flags may be i, m, s and u', node.start);
  let compiled: RegExp;
  try {
    compiled = new RegExp(pattern, flagText);
  } catch (error) {
    throw new RuleError(`invalid pattern: ${(error as Error).message}`, (source as Node).start);
  }
  // The text it is matched against comes from callers, and a backtracking pattern such as
  // (a+)+ takes exponential time on some of it, blocking the whole gateway.
  if (!safeRegex(compiled)) {
    throw new RuleError(
      'pattern may take exponential time on some inputs (a quantifier inside a repeated group); rewrite it',
      (source as Node).start,
    );
  }
  return compiled;
}

function literalText(candidate: Node | undefined): string | undefined {
  const value: unknown = candidate?.type === 'Literal' ? (candidate as Literal).value : undefined;
  return typeof value === 'string' ? value : undefined;
}

function isRoot(name: string): name is RuleRoot {
  return Object.hasOwn(RULE_FIELDS, name);
}

function rootError(name: string, node: Node): RuleError {
  if (isRoot(name)) return new RuleError(`use a field of ${name}, e.g. ${name}.${String(RULE_FIELDS[name][0])}`, node.start);
  if (Object.hasOwn(HELPERS, name)) return new RuleError(`${name} is a helper: call it, e.g. ${name}(...)`, node.start);
  return new RuleError(`unknown name "${name}"; a rule reads only request, caller and time`, node.start);
}

function unknownHelper(name: string, node: Node): RuleError {
  return new RuleError(`"${name}" cannot be called; helpers: ${Object.keys(HELPERS).join(', ')}`, node.start);
}

function describe(type: string): string {
  const names: Record<string, string> = {
    AssignmentExpression: 'assignment',
    UpdateExpression: 'increment or decrement',
    NewExpression: '"new"',
    SequenceExpression: 'the comma operator',
    ThisExpression: '"this"',
    ObjectExpression: 'an object literal',
    ArrowFunctionExpression: 'a function',
    FunctionExpression: 'a function',
    TaggedTemplateExpression: 'a tagged template',
    AwaitExpression: '"await"',
    YieldExpression: '"yield"',
    ImportExpression: 'import()',
    MetaProperty: 'import.meta / new.target',
    ClassExpression: 'a class',
  };
  return names[type] ?? type;
}
