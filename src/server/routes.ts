import type { RequestContext } from '../pipeline/context.ts';

export type RouteHandler = (context: RequestContext) => Promise<void> | void;

/** Exact-path routes by method; tells a wrong method (405) from an unknown path (404). */
export class RouteTable {
  readonly #routes = new Map<string, Map<string, RouteHandler>>();

  add(method: string, path: string, handler: RouteHandler): this {
    let methods = this.#routes.get(path);
    if (methods === undefined) this.#routes.set(path, (methods = new Map()));
    methods.set(method, handler);
    return this;
  }

  match(method: string, path: string): RouteHandler | { readonly allowed: string[] } | undefined {
    const methods = this.#routes.get(path);
    if (methods === undefined) return undefined;
    return methods.get(method) ?? { allowed: [...methods.keys()] };
  }
}
