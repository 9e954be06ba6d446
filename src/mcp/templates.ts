import { parseTemplate, type Template } from 'url-template';
import type { ChatRequest } from '../providers/types.ts';

/** The values a source template may use: {user}, {model}, {metadata.KEY}. */
export type RequestVariables = ReadonlyMap<string, string>;

export function requestVariables(request: ChatRequest): RequestVariables {
  const variables = new Map<string, string>([['model', request.model]]);
  if (typeof request['user'] === 'string' && request['user'] !== '') variables.set('user', request['user']);
  const metadata = request['metadata'];
  if (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)) {
    for (const [key, value] of Object.entries(metadata)) if (typeof value === 'string') variables.set(`metadata.${key}`, value);
  }
  return variables;
}

export type Rendered = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly missing: string };

/**
 * A template compiled at config load. URIs use RFC 6570 (`url-template`): every value of an
 * expression, one variable or several, is percent-encoded for its operator, reserved characters
 * included, so a request variable cannot change a URL's host or path structure; plain text
 * substitutes `{name}` as is. Encoding leaves dots alone, and URL parsers resolve `.` and `..`
 * segments (`%2E` too), so a URI whose expansion adds such a segment is refused: the value counts
 * as missing, and the source is skipped. So is a value no URI can hold (a lone surrogate).
 */
export class RequestTemplate {
  readonly source: string;
  readonly variables: readonly string[];
  readonly #uri: Template | undefined;
  readonly #dotSegments: number;

  constructor(source: string, kind: 'uri' | 'text') {
    this.source = source;
    const expressions = kind === 'uri' ? uriVariables(source) : undefined;
    if (expressions !== undefined && expressions.length > 0) {
      this.#uri = parseTemplate(source);
      this.variables = expressions;
      this.#dotSegments = dotSegments(source);
    } else {
      this.#dotSegments = 0;
      this.variables = kind === 'text' ? [...source.matchAll(/\{([\w.-]+)\}/g)].map((match) => match[1] ?? '') : [];
    }
  }

  render(variables: RequestVariables): Rendered {
    for (const name of this.variables) if (!variables.has(name)) return { ok: false, missing: name };
    if (this.#uri !== undefined) return this.#expand(this.#uri, variables);
    if (this.variables.length === 0) return { ok: true, text: this.source };
    return { ok: true, text: this.source.replace(/\{([\w.-]+)\}/g, (_match, name: string) => variables.get(name) ?? '') };
  }

  #expand(uri: Template, variables: RequestVariables): Rendered {
    const values = this.variables.map((name) => [name, variables.get(name) ?? ''] as const);
    const unusable = values.find(([, value]) => !value.isWellFormed());
    if (unusable !== undefined) return { ok: false, missing: unusable[0] };
    let text: string;
    try {
      text = uri.expand(Object.fromEntries(values));
    } catch {
      // A prefix ({user:3}) that cuts a surrogate pair leaves nothing a URI can hold.
      return { ok: false, missing: this.variables[0] ?? '' };
    }
    if (dotSegments(text) === this.#dotSegments) return { ok: true, text };
    const culprit = values.find(([, value]) => /^(?:\.|%2e)+$/i.test(value))?.[0] ?? this.variables[0];
    return { ok: false, missing: culprit ?? '' };
  }
}

/** `{...}`: an optional operator, then variables, each with an optional prefix length (`:3`) or explode (`*`). */
const EXPRESSION = /\{([^{}]*)\}/g;
const OPERATORS = new Set(['+', '#', '.', '/', ';', '?', '&']);
const VARIABLE = /^([\w.~%-]+)(?::[1-9]\d{0,3}|\*)?$/;

/**
 * The variables of a URI template, checked at load. Reserved expansion (`{+var}`, `{#var}`) is
 * refused: it would let a request value add path segments or a query. Messages quote the
 * expression, never the URI, whose path may hold a token.
 */
function uriVariables(source: string): string[] {
  const names = new Set<string>();
  for (const [, body = ''] of source.matchAll(EXPRESSION)) {
    const operator = OPERATORS.has(body.charAt(0)) ? body.charAt(0) : '';
    if (operator === '+' || operator === '#') {
      throw new Error(`reserved expansion ({+var}, {#var}) is not allowed: {${body}} would let a request value add path segments`);
    }
    for (const spec of body.slice(operator.length).split(',')) {
      const name = VARIABLE.exec(spec)?.[1];
      if (name === undefined) throw new Error(`invalid template expression {${body}}: expected {name}, {name,other} or {?name}`);
      names.add(name);
    }
  }
  return [...names];
}

/** How many `.` or `..` segments (plain or percent-encoded) a URI's path has. */
function dotSegments(uri: string): number {
  const path = (uri.split(/[?#]/)[0] ?? '').replace(/^[a-z][\w+.-]*:\/\/[^/]*/i, '');
  return path.split(/[/\\]/).filter((segment) => /^(?:\.|%2e){1,2}$/i.test(segment)).length;
}
