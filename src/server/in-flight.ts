import type { RequestContext } from '../pipeline/context.ts';

/**
 * The requests being served, for shutdown draining and the deadline sweep: an array with
 * swap-removal, each request knowing its own position.
 *
 * Not a Set, on purpose. A Set under constant add/delete keeps rehashing into new tables,
 * and an obsolete table still points at the requests it held and at its successor. Once
 * one such table has been promoted to the old generation, the chain keeps every later
 * request's objects alive through young collections until the next full collection:
 * measured under load, a quarter of all allocation survived scavenges (1% with this list),
 * with scavenge pauses of 10 ms instead of 1 ms.
 */
export class InFlightRequests implements Iterable<RequestContext> {
  readonly #requests: RequestContext[] = [];

  get size(): number {
    return this.#requests.length;
  }

  add(context: RequestContext): void {
    context.inFlightIndex = this.#requests.push(context) - 1;
  }

  delete(context: RequestContext): void {
    const index = context.inFlightIndex;
    if (index < 0 || this.#requests[index] !== context) return;
    const last = this.#requests.pop() as RequestContext;
    if (last !== context) {
      this.#requests[index] = last;
      last.inFlightIndex = index;
    }
    context.inFlightIndex = -1;
  }

  /** A copy, so that what the caller does to a request (ending it) cannot disturb the iteration. */
  [Symbol.iterator](): Iterator<RequestContext> {
    return [...this.#requests][Symbol.iterator]();
  }
}
