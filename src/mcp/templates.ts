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
 * `{name}` as is.
 */
export class RequestTemplate {
  readonly source: string;
  readonly variables: readonly string[];
  readonly #uri: UriTemplate | undefined;

  constructor(source: string, kind: 'uri' | 'text') {
    this.source = source;
    if (kind === 'uri' && mcpSdk().UriTemplate.isTemplate(source)) {
      if (/\{[+#]/.test(source)) throw new Error(`reserved expansion ({+var}, {#var}) is not allowed: ${source}`);
      this.#uri = new (mcpSdk().UriTemplate)(source);
      this.variables = this.#uri.variableNames;
    } else {
      this.variables = kind === 'text' ? [...source.matchAll(/\{([\w.-]+)\}/g)].map((match) => match[1] ?? '') : [];
    }
  }

  render(variables: RequestVariables): Rendered {
    for (const name of this.variables) if (!variables.has(name)) return { ok: false, missing: name };
    if (this.#uri !== undefined) return { ok: true, text: this.#uri.expand(Object.fromEntries(variables)) };
    if (this.variables.length === 0) return { ok: true, text: this.source };
    return { ok: true, text: this.source.replace(/\{([\w.-]+)\}/g, (_match, name: string) => variables.get(name) ?? '') };
  }
}
