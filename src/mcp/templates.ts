import type { UriTemplate } from '@modelcontextprotocol/client';
import { mcpSdk } from './sdk.ts';
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
 * A template compiled at config load. URIs use RFC 6570 (values are percent-encoded, so a
 * request variable cannot change a URL's host or path structure); plain text substitutes
 * `{name}` as is. Encoding leaves dots alone, and URL parsers resolve `.` and `..` segments
 * (`%2E` too), so a URI whose expansion adds such a segment is refused: the value counts
 * as missing, and the source is skipped.
 */
export class RequestTemplate {
  readonly source: string;
  readonly variables: readonly string[];
  readonly #uri: UriTemplate | undefined;
  readonly #dotSegments: number;

  constructor(source: string, kind: 'uri' | 'text') {
    this.source = source;
    if (kind === 'uri' && mcpSdk().UriTemplate.isTemplate(source)) {
      if (/\{[+#]/.test(source)) throw new Error(`reserved expansion ({+var}, {#var}) is not allowed: ${source}`);
      this.#uri = new (mcpSdk().UriTemplate)(source);
      this.variables = this.#uri.variableNames;
      this.#dotSegments = dotSegments(source);
    } else {
      this.#dotSegments = 0;
      this.variables = kind === 'text' ? [...source.matchAll(/\{([\w.-]+)\}/g)].map((match) => match[1] ?? '') : [];
    }
  }

  render(variables: RequestVariables): Rendered {
    for (const name of this.variables) if (!variables.has(name)) return { ok: false, missing: name };
    if (this.#uri !== undefined) {
      const text = this.#uri.expand(Object.fromEntries(variables));
      if (dotSegments(text) === this.#dotSegments) return { ok: true, text };
      const culprit = this.variables.find((name) => /^(?:\.|%2e)+$/i.test(variables.get(name) ?? '')) ?? this.variables[0];
      return { ok: false, missing: culprit ?? '' };
    }
    if (this.variables.length === 0) return { ok: true, text: this.source };
    return { ok: true, text: this.source.replace(/\{([\w.-]+)\}/g, (_match, name: string) => variables.get(name) ?? '') };
  }
}

/** How many `.` or `..` segments (plain or percent-encoded) a URI's path has. */
function dotSegments(uri: string): number {
  const path = (uri.split(/[?#]/)[0] ?? '').replace(/^[a-z][\w+.-]*:\/\/[^/]*/i, '');
  return path.split(/[/\\]/).filter((segment) => /^(?:\.|%2e){1,2}$/i.test(segment)).length;
}
