import type { RequestContext } from '../pipeline/context.ts';

export type RouteHandler = (context: RequestContext) => Promise<void> | void;

/** Exact-path routes by method; tells a wrong method (405) from an unknown path (404). */
export class RouteTable {
  readonly #routes = new Map<string, Map<string, RouteHandler>>();
  /** Routes for every path under a prefix (`/v1/responses/` for `/v1/responses/{id}`), tried after exact paths. */
  readonly #prefixes: { readonly prefix: string; readonly methods: Map<string, RouteHandler> }[] = [];

  add(method: string, path: string, handler: RouteHandler): this {
    let methods = this.#routes.get(path);
    if (methods === undefined) this.#routes.set(path, (methods = new Map()));
    methods.set(method, handler);
    return this;
  }

  addPrefix(method: string, prefix: string, handler: RouteHandler): this {
    let entry = this.#prefixes.find((candidate) => candidate.prefix === prefix);
    if (entry === undefined) this.#prefixes.push((entry = { prefix, methods: new Map() }));
    entry.methods.set(method, handler);
    return this;
  }

  match(method: string, path: string): RouteHandler | { readonly allowed: string[] } | undefined {
    const methods =
      this.#routes.get(path) ?? this.#prefixes.find((entry) => path.startsWith(entry.prefix) && path.length > entry.prefix.length)?.methods;
    if (methods === undefined) return undefined;
    // HEAD is GET without the body (node:http leaves the body out): health checks use it.
    return methods.get(method) ?? (method === 'HEAD' ? methods.get('GET') : undefined) ?? { allowed: [...methods.keys()] };
  }
}
