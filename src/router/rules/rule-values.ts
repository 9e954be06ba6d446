/**
 * What rule expressions can do to values: read own data fields, compare, compute, and
 * call the whitelisted helpers. Nothing here reaches a prototype, a global or a function
 * other than these, whatever the value.
 */

/** Longest text `matches()` runs a pattern over, so a slow pattern stays bounded. */
export const MATCH_SUBJECT_LIMIT = 4096;

/** Reads an own data field of plain data; `length` of strings and arrays; array items by index. */
export function readField(value: unknown, key: unknown): unknown {
  if (typeof value === 'string') return key === 'length' ? value.length : undefined;
  if (Array.isArray(value)) {
    if (key === 'length') return value.length;
    return typeof key === 'number' && Number.isInteger(key) && key >= 0 ? value[key] : undefined;
  }
  if (typeof value !== 'object' || value === null || (typeof key !== 'string' && typeof key !== 'number')) return undefined;
  const name = String(key);
  return Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}

export function truthy(value: unknown): boolean {
  return Boolean(value);
}

/** `==` and `===` both compare strictly: a rule never relies on coercion. */
export function same(left: unknown, right: unknown): boolean {
  return left === right || (left === undefined && right === null) || (left === null && right === undefined);
}

export function compare(operator: '<' | '<=' | '>' | '>=', left: unknown, right: unknown): boolean {
  const comparable = (typeof left === 'number' && typeof right === 'number') || (typeof left === 'string' && typeof right === 'string');
  if (!comparable) return false;
  switch (operator) {
    case '<':
      return (left as number) < (right as number);
    case '<=':
      return (left as number) <= (right as number);
    case '>':
      return (left as number) > (right as number);
    case '>=':
      return (left as number) >= (right as number);
  }
}

export function arithmetic(operator: '+' | '-' | '*' | '/' | '%', left: unknown, right: unknown): unknown {
  if (operator === '+' && typeof left === 'string' && typeof right === 'string') return left + right;
  if (typeof left !== 'number' || typeof right !== 'number') return undefined;
  switch (operator) {
    case '+':
      return left + right;
    case '-':
      return left - right;
    case '*':
      return left * right;
    case '/':
      return left / right;
    case '%':
      return left % right;
  }
}

/** A helper's evaluated operands, positionally (no array per call); `pattern` is matches()'s compiled pattern. */
export type Helper = (first: unknown, second: unknown, pattern: RegExp | undefined) => unknown;

/** The functions a rule may call, as `name(x, ...)` or as a method `x.name(...)`. */
export const HELPERS: Readonly<Record<string, { readonly arity: readonly [number, number]; readonly call: Helper }>> = {
  includes: {
    arity: [2, 2],
    call: (haystack, needle) => {
      if (typeof haystack === 'string') return typeof needle === 'string' && haystack.includes(needle);
      if (!Array.isArray(haystack)) return false;
      for (const item of haystack as unknown[]) if (same(item, needle)) return true;
      return false;
    },
  },
  startsWith: {
    arity: [2, 2],
    call: (text, prefix) => typeof text === 'string' && typeof prefix === 'string' && text.startsWith(prefix),
  },
  endsWith: {
    arity: [2, 2],
    call: (text, suffix) => typeof text === 'string' && typeof suffix === 'string' && text.endsWith(suffix),
  },
  matches: {
    arity: [2, 3],
    call: (text, _unused, pattern) => typeof text === 'string' && pattern !== undefined && pattern.test(text.slice(0, MATCH_SUBJECT_LIMIT)),
  },
  lower: { arity: [1, 1], call: (text) => (typeof text === 'string' ? text.toLowerCase() : undefined) },
  upper: { arity: [1, 1], call: (text) => (typeof text === 'string' ? text.toUpperCase() : undefined) },
};

/** JavaScript's own method names, accepted as aliases of the helpers. */
export const METHOD_ALIASES: Readonly<Record<string, string>> = {
  includes: 'includes',
  startsWith: 'startsWith',
  endsWith: 'endsWith',
  matches: 'matches',
  toLowerCase: 'lower',
  toUpperCase: 'upper',
  lower: 'lower',
  upper: 'upper',
};
