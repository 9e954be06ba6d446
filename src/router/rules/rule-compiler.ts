import { parseExpressionAt, type Expression, type Literal, type Node, type SpreadElement, type Super, type PrivateIdentifier } from 'acorn';
import { FIELD_READERS, type RuleScope } from './rule-fields.ts';
import { arithmetic, compare, HELPERS, METHOD_ALIASES, readField, same, truthy } from './rule-values.ts';

export type { RuleScope } from './rule-fields.ts';
type RuleRoot = keyof RuleScope;
export type CompiledRule = (scope: RuleScope) => boolean;

type Evaluate = (scope: RuleScope) => unknown;

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

/**
 * Compiles a routing rule once, at load: the source is parsed by acorn and every node is
 * checked against a whitelist (literals, fields of `request`/`caller`/`time`, comparisons,
 * logic, arithmetic, `?:`, array literals, the helpers in rule-values.ts) while it is turned
 * into closures. Nothing is handed to `eval` or `Function`: the closures only read plain
 * data, so a rule cannot reach a global, a prototype or any other function.
 */
export function compileRule(source: string): CompiledRule {
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
  const evaluate = compileNode(tree, 0);
  return (scope) => truthy(evaluate(scope));
}

/** The problem with a rule, or undefined when it compiles. */
export function checkRule(source: string): RuleError | undefined {
  try {
    compileRule(source);
    return undefined;
  } catch (error) {
    if (error instanceof RuleError) return error;
    throw error;
  }
}

function compileNode(node: Expression | SpreadElement | Super | PrivateIdentifier, depth: number): Evaluate {
  if (depth > MAX_DEPTH) throw new RuleError('the expression is nested too deeply', node.start);
  const next = depth + 1;
  switch (node.type) {
    case 'Literal':
      return compileLiteral(node.value, node);
    case 'TemplateLiteral': {
      if (node.expressions.length > 0) throw new RuleError('template literals with ${...} are not allowed; use +', node.start);
      const text = node.quasis.map((quasi) => quasi.value.cooked ?? '').join('');
      return () => text;
    }
    case 'Identifier':
      throw rootError(node.name, node);
    case 'MemberExpression':
      return compileMember(node, next);
    case 'ChainExpression':
      return compileNode(node.expression, next);
    case 'ParenthesizedExpression':
      return compileNode(node.expression, next);
    case 'ArrayExpression': {
      const items = node.elements.map((element) => {
        if (element === null || element.type === 'SpreadElement')
          throw new RuleError('array holes and spreads are not allowed', node.start);
        return compileNode(element, next);
      });
      return (scope) => items.map((item) => item(scope));
    }
    case 'UnaryExpression':
      return compileUnary(node.operator, compileNode(node.argument, next), node);
    case 'BinaryExpression':
      if (!BINARY.has(node.operator)) throw new RuleError(`the operator "${node.operator}" is not allowed`, node.start);
      return compileBinary(node.operator, compileNode(node.left, next), compileNode(node.right, next), node);
    case 'LogicalExpression': {
      const left = compileNode(node.left, next);
      const right = compileNode(node.right, next);
      if (node.operator === '&&') return (scope) => (truthy(left(scope)) ? right(scope) : false);
      if (node.operator === '||') return (scope) => (truthy(left(scope)) ? true : right(scope));
      return (scope) => left(scope) ?? right(scope);
    }
    case 'ConditionalExpression': {
      const test = compileNode(node.test, next);
      const consequent = compileNode(node.consequent, next);
      const alternate = compileNode(node.alternate, next);
      return (scope) => (truthy(test(scope)) ? consequent(scope) : alternate(scope));
    }
    case 'CallExpression':
      return compileCall(node.callee, node.arguments, node, next);
    default:
      throw new RuleError(`${describe(node.type)} is not allowed in a rule`, node.start);
  }
}

function compileLiteral(value: unknown, node: Node): Evaluate {
  if (value instanceof RegExp) throw new RuleError('regular expression literals are not allowed; use matches(text, "pattern")', node.start);
  if (typeof value === 'bigint') throw new RuleError('BigInt literals are not allowed', node.start);
  return () => value;
}

function compileMember(node: Extract<Expression, { type: 'MemberExpression' }>, depth: number): Evaluate {
  if (node.object.type === 'Super') throw new RuleError('super is not allowed', node.start);
  const key = memberKey(node);
  if (node.object.type === 'Identifier') {
    const root = node.object.name;
    if (!isRoot(root)) throw rootError(root, node.object);
    const readers = FIELD_READERS[root];
    const reader = typeof key === 'string' && Object.hasOwn(readers, key) ? readers[key] : undefined;
    if (reader === undefined) {
      const fields = Object.keys(readers).join(', ');
      throw new RuleError(`${root} has no field ${JSON.stringify(key ?? '(computed)')}; fields: ${fields}`, node.property.start);
    }
    return reader;
  }
  const object = compileNode(node.object, depth);
  if (key !== undefined) return (scope) => readField(object(scope), key);
  const property = compileNode(node.property, depth);
  return (scope) => {
    const name = property(scope);
    return typeof name === 'string' && FORBIDDEN_NAMES.has(name) ? undefined : readField(object(scope), name);
  };
}

/** The static key of `a.b` or `a["b"]`, refusing the names that lead to prototypes. */
function memberKey(node: Extract<Expression, { type: 'MemberExpression' }>): string | number | undefined {
  const property = node.property;
  let key: string | number | undefined;
  if (!node.computed && property.type === 'Identifier') key = property.name;
  else if (property.type === 'PrivateIdentifier') throw new RuleError('private names are not allowed', property.start);
  else if (property.type === 'Literal' && (typeof property.value === 'string' || typeof property.value === 'number')) key = property.value;
  if (typeof key === 'string' && FORBIDDEN_NAMES.has(key)) throw new RuleError(`access to "${key}" is not allowed`, property.start);
  return key;
}

function compileUnary(operator: string, argument: Evaluate, node: Node): Evaluate {
  switch (operator) {
    case '!':
      return (scope) => !truthy(argument(scope));
    case '-':
      return (scope) => {
        const value = argument(scope);
        return typeof value === 'number' ? -value : undefined;
      };
    case '+':
      return (scope) => {
        const value = argument(scope);
        return typeof value === 'number' ? value : undefined;
      };
    default:
      throw new RuleError(`the operator "${operator}" is not allowed`, node.start);
  }
}

function compileBinary(operator: string, left: Evaluate, right: Evaluate, node: Node): Evaluate {
  if (operator === '==' || operator === '===') return (scope) => same(left(scope), right(scope));
  if (operator === '!=' || operator === '!==') return (scope) => !same(left(scope), right(scope));
  if (COMPARISONS.has(operator)) {
    const comparison = operator as '<' | '<=' | '>' | '>=';
    return (scope) => compare(comparison, left(scope), right(scope));
  }
  if (ARITHMETIC.has(operator)) {
    const operation = operator as '+' | '-' | '*' | '/' | '%';
    return (scope) => arithmetic(operation, left(scope), right(scope));
  }
  throw new RuleError(`the operator "${operator}" is not allowed`, node.start);
}

function compileCall(callee: Expression | Super, args: ReadonlyArray<Expression | SpreadElement>, node: Node, depth: number): Evaluate {
  let name: string;
  const operands: Array<Expression | SpreadElement> = [...args];
  if (callee.type === 'Identifier') {
    name = callee.name;
    if (!Object.hasOwn(HELPERS, name)) throw unknownHelper(name, callee);
  } else if (callee.type === 'MemberExpression' && !callee.computed && callee.property.type === 'Identifier') {
    if (callee.object.type !== 'Super') compileNode(callee.object, depth); // its own problems first
    const alias = Object.hasOwn(METHOD_ALIASES, callee.property.name) ? METHOD_ALIASES[callee.property.name] : undefined;
    if (alias === undefined || callee.object.type === 'Super') throw unknownHelper(callee.property.name, callee.property);
    name = alias;
    operands.unshift(callee.object);
  } else {
    if (callee.type !== 'Super') compileNode(callee, depth); // its own problems first
    throw new RuleError('only the helper functions may be called', callee.start);
  }
  const helper = HELPERS[name];
  if (helper === undefined) throw unknownHelper(name, callee);
  const [fewest, most] = helper.arity;
  if (operands.length < fewest || operands.length > most) {
    throw new RuleError(`${name}() takes ${fewest === most ? fewest : `${fewest} or ${most}`} argument(s)`, node.start);
  }
  const pattern = name === 'matches' ? compilePattern(operands[1], operands[2], node) : undefined;
  // The pattern and flags of matches() were compiled above; only the text is evaluated.
  const [first, second] = (name === 'matches' ? operands.slice(0, 1) : operands).map((operand) => compileNode(operand, depth));
  const call = helper.call;
  if (first === undefined) throw unknownHelper(name, callee);
  if (second === undefined) return (scope) => call(first(scope), undefined, pattern);
  return (scope) => call(first(scope), second(scope), pattern);
}

/** `matches(text, "pattern", "flags")`: the pattern is a literal, compiled once here. */
function compilePattern(source: Node | undefined, flags: Node | undefined, node: Node): RegExp {
  const pattern = literalText(source);
  const flagText = flags === undefined ? '' : literalText(flags);
  if (pattern === undefined || flagText === undefined)
    throw new RuleError('matches() takes its pattern and flags as string literals', node.start);
  if (!/^[imsu]*$/.test(flagText)) throw new RuleError('matches() flags may be i, m, s and u', node.start);
  try {
    return new RegExp(pattern, flagText);
  } catch (error) {
    throw new RuleError(`invalid pattern: ${(error as Error).message}`, (source as Node).start);
  }
}

function literalText(candidate: Node | undefined): string | undefined {
  const value: unknown = candidate?.type === 'Literal' ? (candidate as Literal).value : undefined;
  return typeof value === 'string' ? value : undefined;
}

function isRoot(name: string): name is RuleRoot {
  return Object.hasOwn(FIELD_READERS, name);
}

function rootError(name: string, node: Node): RuleError {
  if (isRoot(name)) return new RuleError(`use a field of ${name}, e.g. ${name}.${Object.keys(FIELD_READERS[name])[0]}`, node.start);
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
