import type { AbortHooks } from '../providers/types.ts';
import type { CachedAnswer } from './answer-store.ts';

/** What a request that waited for an identical one in flight does next. */
export type Coalesced =
  /** The leader's answer, as it was stored: served from the cache. */
  | { readonly kind: 'answer'; readonly answer: CachedAnswer }
  /** The leader ended without an answer to store (it failed, was cut, or its answer is not cacheable): go upstream alone. */
  | { readonly kind: 'alone' }
  /** This request's own client left, or its deadline passed, while it waited. */
  | { readonly kind: 'gone' };

const ALONE: Coalesced = { kind: 'alone' };
const GONE: Coalesced = { kind: 'gone' };

/** Where a waiting request stops waiting: its abort (client gone, deadline passed, shutdown). */
interface WaiterAbort extends AbortHooks {
  readonly signal: AbortSignal;
}

/**
 * Identical cacheable misses in flight in this process, by answer address: the first (the
 * leader) goes upstream; the ones after it wait for its answer instead of paying for it again.
 * The map holds only addresses whose leader is still in flight: a leader leaves it when its
 * answer is stored and, whatever happened, when its delivery ends.
 */
export class InFlightMisses {
  readonly #leaders = new Map<string, Leader>();

  /** The request already fetching this answer, if any: the one Map lookup a miss costs. */
  leaderOf(id: string): Leader | undefined {
    return this.#leaders.get(id);
  }

  /** Makes the request the one fetching this answer, until its answer is stored or its delivery ends. */
  lead(id: string): Leader {
    const leader = new Leader(this.#leaders, id);
    this.#leaders.set(id, leader);
    return leader;
  }

  get size(): number {
    return this.#leaders.size;
  }
}

type Waiter = (next: Coalesced) => void;

/** One request in flight for an answer others wait for. Nothing is allocated for waiting until someone waits. */
export class Leader {
  readonly #leaders: Map<string, Leader>;
  readonly #id: string;
  #waiters: Waiter[] | undefined = undefined;
  #ended = false;

  constructor(leaders: Map<string, Leader>, id: string) {
    this.#leaders = leaders;
    this.#id = id;
  }

  /** Resolves when the leader's answer is stored, when it ends without one, or when `abort` fires (this waiter's own). */
  wait(abort: WaiterAbort): Promise<Coalesced> {
    if (abort.signal.aborted) return Promise.resolve(GONE);
    if (this.#ended) return Promise.resolve(ALONE);
    return new Promise<Coalesced>((resolve) => {
      const stop = (): void => {
        this.#drop(waiter);
        resolve(GONE);
      };
      const waiter: Waiter = (next) => {
        abort.remove(stop);
        resolve(next);
      };
      abort.add(stop);
      (this.#waiters ??= []).push(waiter);
    });
  }

  /** The leader's answer is stored: every waiter is served it. */
  answered(answer: CachedAnswer): void {
    this.#end({ kind: 'answer', answer });
  }

  /** The leader's delivery is over, however it ended: waiters not yet served go upstream alone. Idempotent. */
  readonly ended = (): void => this.#end(ALONE);

  #end(next: Coalesced): void {
    if (this.#ended) return;
    this.#ended = true;
    // A later leader for the same answer (after this one's was stored and evicted) keeps its place.
    if (this.#leaders.get(this.#id) === this) this.#leaders.delete(this.#id);
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters !== undefined) for (const waiter of waiters) waiter(next);
  }

  #drop(waiter: Waiter): void {
    const waiters = this.#waiters;
    const index = waiters === undefined ? -1 : waiters.indexOf(waiter);
    if (index !== -1) waiters?.splice(index, 1);
  }
}
