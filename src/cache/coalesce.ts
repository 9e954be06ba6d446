import { performance } from 'node:perf_hooks';
import { costOf } from '../observability/pricing.ts';
import type { RequestContext } from '../pipeline/context.ts';
import { RequestAbort } from '../pipeline/request-abort.ts';
import type { AbortHooks, AttemptOptions, AttemptOutcome, TokenUsage } from '../providers/types.ts';
import type { CachedAnswer } from './answer-store.ts';
import type { AnswerCapture, StreamWatch } from './capture.ts';

/** What a request that waited for an identical one in flight does next. */
export type Coalesced =
  /** The leader's answer, as it was stored: served from the cache. */
  | { readonly kind: 'answer'; readonly answer: CachedAnswer }
  /** The leader's answer is streaming: follow it live (a waiter that asked for a stream). */
  | { readonly kind: 'follow'; readonly stream: LiveStream }
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

interface Waiter {
  /** It asked for a stream: it follows the leader's stream live once that begins. */
  readonly streams: boolean;
  readonly settle: (next: Coalesced) => void;
}

/**
 * One request in flight for an answer others wait for. Nothing is allocated for waiting until
 * someone waits; a streamed answer costs the leader one call when its first bytes go out, and
 * nothing more per chunk until a request follows it.
 */
export class Leader implements StreamWatch {
  readonly #leaders: Map<string, Leader>;
  readonly #id: string;
  #waiters: Waiter[] | undefined = undefined;
  #ended = false;
  /** The leader's answer as it streams out, once its first bytes went to its client. */
  #live: LiveStream | undefined = undefined;
  /** Its client left while others followed its stream: the upstream call goes on for them, and it ends when that call does. */
  #orphaned = false;

  constructor(leaders: Map<string, Leader>, id: string) {
    this.#leaders = leaders;
    this.#id = id;
  }

  /**
   * Resolves when the leader's answer is stored, when it ends without one, or when `abort` fires
   * (this waiter's own); for a waiter that `streams`, as soon as the leader's stream has begun.
   */
  wait(abort: WaiterAbort, streams = false): Promise<Coalesced> {
    if (abort.signal.aborted) return Promise.resolve(GONE);
    if (this.#ended) return Promise.resolve(ALONE);
    const live = this.#live;
    if (live !== undefined) {
      // Past the cap its answer will not be stored, and what went out is no longer kept to replay: nothing to wait for.
      if (!live.shared) return Promise.resolve(ALONE);
      if (streams) return Promise.resolve({ kind: 'follow', stream: live });
    }
    return new Promise<Coalesced>((resolve) => {
      const stop = (): void => {
        this.#drop(waiter);
        resolve(GONE);
      };
      const waiter: Waiter = {
        streams,
        settle: (next) => {
          abort.remove(stop);
          resolve(next);
        },
      };
      abort.add(stop);
      (this.#waiters ??= []).push(waiter);
    });
  }

  /** The leader's answer started streaming to its client: the waiters that asked for a stream follow it from here. */
  began(capture: AnswerCapture): void {
    if (this.#ended) return;
    const live = new LiveStream(capture);
    this.#live = live;
    const waiters = this.#waiters;
    if (waiters === undefined) return;
    const follow: Coalesced = { kind: 'follow', stream: live };
    const staying = waiters.filter((waiter) => !waiter.streams);
    this.#waiters = staying.length === 0 ? undefined : staying;
    for (const waiter of waiters) if (waiter.streams) waiter.settle(follow);
    if (!live.shared) this.passedCap(capture); // (its first bytes passed the cap already)
  }

  /**
   * The leader's stream passed the cache's entry cap: its answer will not be stored, so the JSON
   * requests waiting for it go upstream alone now rather than when it ends (those that come later
   * do so at once; those following it go on).
   */
  passedCap(capture: AnswerCapture): void {
    if (this.#ended || this.#live?.streams(capture) !== true) return;
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters !== undefined) for (const waiter of waiters) waiter.settle(ALONE);
  }

  /** One upstream attempt of the leader is over: when it was the one streaming, its followers end as it ended. */
  attemptEnded(capture: AnswerCapture, outcome: AttemptOutcome): void {
    const live = this.#live;
    if (live === undefined || !live.streams(capture)) return;
    live.end(
      capture.failure !== undefined
        ? { kind: 'failed', code: capture.failure }
        : outcome.kind === 'ok'
          ? { kind: 'complete', usage: outcome.usage }
          : {
              kind: 'broken',
              message: outcome.kind === 'broken' ? outcome.message : outcome.kind === 'cancelled' ? CANCELLED : UNFINISHED,
            },
    );
  }

  /** The leader's answer is stored: every waiter is served it. */
  answered(answer: CachedAnswer): void {
    this.#end({ kind: 'answer', answer });
  }

  /**
   * Runs one attempt of a leader that streams under an abort of its own, which the leader's
   * reaches as it would the upstream call, except when its client leaves while others follow
   * `capture`'s stream (see `CarriedCall`).
   */
  carry(capture: AnswerCapture, options: AttemptOptions, request: CarriedFor): CarriedCall {
    return new CarriedCall(this, capture, options, request);
  }

  /**
   * The leader's client left (`capture` is its attempt's): when requests follow its stream, it goes
   * on for them and true is returned; `deserted` is called if the last of them leaves. Else false.
   */
  stayFor(capture: AnswerCapture, deserted: () => void): boolean {
    const live = this.#live;
    if (live === undefined || !live.streams(capture) || !live.followed) return false;
    this.#orphaned = true;
    live.whenDeserted(() => {
      // None will join an upstream call that is being cut: a waiter that comes now goes upstream alone.
      live.end({ kind: 'broken', message: CANCELLED });
      deserted();
    });
    return true;
  }

  /**
   * The leader's delivery is over, however it ended: waiters not yet served go upstream alone;
   * once its client left while others followed it, when the upstream call carried on for them ends
   * instead (`carriedEnded`). Idempotent.
   */
  readonly ended = (): void => {
    if (!this.#orphaned) this.#end(ALONE);
  };

  /** The upstream call carried on for the followers of a leader whose client left is over (and its answer stored, if it could be). */
  carriedEnded(): void {
    this.#end(ALONE);
  }

  #end(next: Coalesced): void {
    if (this.#ended) return;
    this.#ended = true;
    // A later leader for the same answer (after this one's was stored and evicted) keeps its place.
    if (this.#leaders.get(this.#id) === this) this.#leaders.delete(this.#id);
    // Its stream's end was told already, unless its attempt never returned: followers never see a cut stream end as complete.
    this.#live?.end({ kind: 'broken', message: UNFINISHED });
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters !== undefined) for (const waiter of waiters) waiter.settle(next);
  }

  #drop(waiter: Waiter): void {
    const waiters = this.#waiters;
    const index = waiters === undefined ? -1 : waiters.indexOf(waiter);
    if (index !== -1) waiters?.splice(index, 1);
  }
}

const UNFINISHED = 'The answer ended before it was complete.';
/** The leader's deadline passed (or the gateway shut down) while its answer streamed: the upstream call ended with it. */
const CANCELLED = 'The identical request whose answer this one was following was cancelled before the answer was complete.';
/** The longest delay a timer takes: past it, Node fires the timer after 1 ms. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;
/** What a carried call needs of the leader's request: its deadline, and where what the call used goes. */
export type CarriedFor = Pick<RequestContext, 'deadlineAt' | 'price' | 'usage' | 'costUsd' | 'carried'>;
/** What the leader's request gets once its client has left and its upstream call goes on for others. */
const LEFT: AttemptOutcome = { kind: 'cancelled' };

/**
 * The upstream call of one attempt of a leader that streams, under an abort of its own (it is
 * the attempt's `signal` and `abortHooks`). The leader's abort (its client leaving, its deadline,
 * shutdown, the attempt's timeout) reaches the call at once, as it would without it, except when
 * the leader's client leaves while requests follow its stream. Then the leader's request ends
 * there, as one whose client left: its attempt is over for it (`cancelled`), and its response is
 * no longer written to. The call goes on for the followers and ends as any does, its answer stored
 * if complete, unless the last follower leaves or the leader's deadline passes first: then it is
 * aborted. The leader's request pays for it: the usage the call reported (complete or cut) is put
 * on it when the call ends, with its cost, and its limits are settled and it is reported only then
 * (`RequestContext.carried`), its status still that of a request whose client left.
 */
export class CarriedCall implements AbortHooks {
  readonly #own = new RequestAbort();
  readonly #leader: Leader;
  readonly #capture: AnswerCapture;
  readonly #leaderAbort: AbortHooks | undefined;
  readonly #leaderSignal: AbortSignal;
  readonly #request: CarriedFor;
  /** Ends the leader's attempt: with the call's outcome, or `LEFT` once its client left. */
  #resolve: ((outcome: AttemptOutcome) => void) | undefined = undefined;
  /** Resolves the leader's `carried` promise, once its client left while others followed. */
  #carried: (() => void) | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;

  constructor(leader: Leader, capture: AnswerCapture, options: AttemptOptions, request: CarriedFor) {
    this.#leader = leader;
    this.#capture = capture;
    this.#leaderAbort = options.abortHooks;
    this.#leaderSignal = options.signal;
    this.#request = request;
    if (options.signal.aborted) this.#own.abort(options.signal.reason);
    else if (options.abortHooks !== undefined) options.abortHooks.add(this.#onLeaderAbort);
    else options.signal.addEventListener('abort', this.#onLeaderAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#own.signal;
  }

  add(hook: () => void): void {
    this.#own.add(hook);
  }

  remove(hook: () => void): void {
    this.#own.remove(hook);
  }

  /**
   * Makes the call (`send`, with this as its abort) and resolves with its outcome once `done` has
   * handled it (followers told, answer stored); or with `cancelled` as soon as the leader's client
   * left while others follow, `done` then running when the call ends.
   */
  run(send: () => Promise<AttemptOutcome>, done: (outcome: AttemptOutcome) => void): Promise<AttemptOutcome> {
    return new Promise<AttemptOutcome>((resolve, reject) => {
      this.#resolve = resolve;
      let call: Promise<AttemptOutcome>;
      try {
        call = send();
      } catch (error) {
        call = Promise.reject(error);
      }
      call.then(
        (outcome) => {
          this.#over();
          try {
            done(outcome);
            resolve(outcome);
          } catch (error) {
            reject(error); // (nobody hears of it once the leader's request is over: it has its outcome)
          }
          if (this.#carried !== undefined) this.#carriedEnded(outcome);
        },
        (error: unknown) => {
          this.#over();
          reject(error);
          if (this.#carried !== undefined) this.#carriedEnded(undefined);
        },
      );
    });
  }

  readonly #onLeaderAbort = (): void => {
    const reason: unknown = this.#leaderSignal.reason;
    if (reason === 'client_closed' && this.#leader.stayFor(this.#capture, () => this.#own.abort('client_closed'))) this.#orphan();
    else this.#own.abort(reason);
  };

  /** The leader's client left while others follow: the call goes on for them, until the leader's deadline at most. */
  #orphan(): void {
    // Set before the leader's request can be over (its client's leaving is what brought us here): it is settled once the call ends.
    this.#request.carried = new Promise<void>((resolve) => (this.#carried = resolve));
    this.#capture.detach();
    const timer = setTimeout(
      () => this.#own.abort('deadline'),
      Math.min(LONGEST_TIMER_MS, Math.max(0, this.#request.deadlineAt - performance.now())),
    );
    timer.unref();
    this.#timer = timer;
    this.#resolve?.(LEFT);
  }

  /**
   * The call carried on for the followers is over: what it used is the leader's request's, as if
   * its client had stayed (a stream cut part way is paid for what it had reported), and its limits
   * are settled and it is reported now.
   */
  #carriedEnded(outcome: AttemptOutcome | undefined): void {
    const usage = outcome?.kind === 'ok' || outcome?.kind === 'broken' ? outcome.usage : undefined;
    if (usage !== undefined) {
      const request = this.#request;
      request.usage = usage;
      if (request.price !== undefined) request.costUsd = costOf(usage, request.price);
    }
    this.#leader.carriedEnded();
    this.#carried?.();
  }

  #over(): void {
    clearTimeout(this.#timer);
    if (this.#leaderAbort !== undefined) this.#leaderAbort.remove(this.#onLeaderAbort);
    else this.#leaderSignal.removeEventListener('abort', this.#onLeaderAbort);
  }
}

/** How the leader's stream ended, for those following it. */
export type StreamEnding =
  /** Complete; `usage`, as the upstream reported it. */
  | { readonly kind: 'complete'; readonly usage: TokenUsage | undefined }
  /** With an error event of its own (the upstream's), which the followers got with the rest: nothing more is sent. */
  | { readonly kind: 'failed'; readonly code: string }
  /** Before its end (cut, failed, cancelled): the leader's caller gets an error event with this message, and so do the followers. */
  | { readonly kind: 'broken'; readonly message: string };

/** A request following the leader's stream live. */
export interface Follower {
  /** What the stream sent before this follower joined, all at once. */
  catchUp(chunks: readonly (Buffer | string)[]): void;
  /** The next chunk, as the leader's client gets it. */
  data(chunk: Buffer | string): void;
  end(ending: StreamEnding): void;
}

/**
 * The leader's streamed answer as it goes out: what it sent so far (the capture keeps it, up to
 * the cache's entry cap, to store it) and the requests that follow it. A follower that joins late
 * is sent what it missed at once, then each chunk as it comes; one whose client leaves is dropped
 * and nothing else changes.
 */
export class LiveStream {
  readonly #capture: AnswerCapture;
  #followers: readonly Follower[] = [];
  #ending: StreamEnding | undefined = undefined;
  /** Called when the last follower leaves, once the leader's client has left (`whenDeserted`). */
  #deserted: (() => void) | undefined = undefined;

  constructor(capture: AnswerCapture) {
    this.#capture = capture;
  }

  /** Whether what went out is still kept (within the cap), so that others can join and the answer can be stored. */
  get shared(): boolean {
    return this.#capture.sent() !== undefined;
  }

  /** Whether a request can follow it now: it is shared, and has not failed or been cut. */
  get joinable(): boolean {
    const ending = this.#ending;
    return this.shared && (ending === undefined || ending.kind === 'complete');
  }

  streams(capture: AnswerCapture): boolean {
    return this.#capture === capture;
  }

  /**
   * Sends the follower what went out so far and, from then on, the rest as it comes; false (nothing
   * sent) when it cannot follow: what went out is past the cap, or the stream failed or was cut.
   */
  follow(follower: Follower): boolean {
    const sent = this.#capture.sent();
    if (sent === undefined || !this.joinable) return false;
    follower.catchUp(sent);
    const ending = this.#ending;
    if (ending !== undefined) {
      follower.end(ending);
      return true;
    }
    if (this.#followers.length === 0) this.#capture.relayTo(this.#relay);
    this.#followers = [...this.#followers, follower];
    return true;
  }

  /** Whether any request follows it now. */
  get followed(): boolean {
    return this.#followers.length > 0;
  }

  /** `deserted` is called when the last follower leaves (the stream goes on for them alone). */
  whenDeserted(deserted: () => void): void {
    this.#deserted = deserted;
  }

  /** A follower leaves (its client left, or its deadline passed); the others go on. */
  unfollow(follower: Follower): void {
    this.#followers = this.#followers.filter((other) => other !== follower);
    if (this.#followers.length === 0 && this.#ending === undefined) this.#deserted?.();
  }

  /** Once: every follower ends as the stream did. */
  end(ending: StreamEnding): void {
    if (this.#ending !== undefined) return;
    this.#ending = ending;
    const followers = this.#followers;
    this.#followers = [];
    for (const follower of followers) follower.end(ending);
  }

  readonly #relay = (chunk: Buffer | string): void => {
    if (this.#ending !== undefined) return;
    for (const follower of this.#followers) follower.data(chunk);
  };
}
