import type { EmbedThroughModel } from './semantic/embedders.ts';
import type { CacheConfig, CachePolicyConfig } from '../config/cache-schema.ts';
import type { Logger } from '../observability/logger.ts';
import { cacheLookedUp, cacheStored } from '../observability/events.ts';
import type { CacheSummary, RequestContext } from '../pipeline/context.ts';
import type { AttemptOptions, AttemptOutcome, ChatRequest } from '../providers/types.ts';
import { RedisBackend } from '../state/redis.ts';
import { addressId, MemoryTier, type AnswerAddress, type CachedAnswer, type PurgeFilter } from './answer-store.ts';
import { AnswerCapture } from './capture.ts';
import { InFlightMisses, type Coalesced, type Leader, type LiveStream } from './coalesce.ts';
import { StreamFollower } from './follow.ts';
import { RememberedKeys, semanticQuery, type CacheTarget, type SemanticQuery } from './key.ts';
import { CachePolicies, isCacheable, parseDirective, parseTtlHeader, type CacheDirective } from './policy.ts';
import { RedisTier } from './redis-tier.ts';
import { serveCachedAnswer } from './serve.ts';
import { SemanticCache } from './semantic/semantic-cache.ts';
import { requestHeader } from '../server/request-headers.ts';
import { finish } from '../pipeline/finish.ts';

type Attempt = (options: AttemptOptions) => Promise<AttemptOutcome>;

/** 'answered': the response is done (a hit, or a waiter whose client left or whose deadline passed). */
export type CacheLookup = 'answered' | CacheTicket | undefined;

/** What the cache stage decided for one request that it did not answer itself. */
export interface CacheTicket {
  /** Wraps the upstream attempt so a successful, complete answer is stored. */
  wrap(attempt: Attempt): Attempt;
  /**
   * Present when identical requests may wait for this one (coalesced misses): to be called once
   * its delivery has ended, however it ended, so that those still waiting go upstream alone.
   */
  readonly ended?: (() => void) | undefined;
}

interface Lookup {
  readonly context: RequestContext;
  readonly request: ChatRequest;
  readonly policy: CachePolicyConfig;
  readonly address: AnswerAddress;
  readonly directive: CacheDirective;
  readonly ttlS: number;
}

/**
 * The cache stage, between enrich (MCP) and route: answers exact and semantic repeats
 * without an upstream, and stores successful complete answers. L1 is in process, L2 in Redis.
 */
export class CacheStage {
  readonly #config: CacheConfig;
  readonly #logger: Logger;
  readonly #policies: CachePolicies;
  readonly #memory: MemoryTier;
  readonly #redis: RedisBackend | undefined;
  readonly #shared: RedisTier | undefined;
  readonly #semantic: SemanticCache;
  readonly #keys = new RememberedKeys();
  /** Identical misses in flight, when coalesced (`cache.coalesce`). */
  readonly #inFlight: InFlightMisses | undefined;

  constructor(config: CacheConfig, logger: Logger, embedThroughModel?: EmbedThroughModel) {
    this.#config = config;
    this.#logger = logger;
    this.#policies = new CachePolicies(config);
    this.#memory = new MemoryTier(config.memory_max_bytes);
    this.#redis = config.redis === undefined ? undefined : new RedisBackend(config.redis.url, config.redis.key_prefix);
    this.#shared = this.#redis === undefined ? undefined : new RedisTier(this.#redis);
    this.#semantic = new SemanticCache({ storePath: config.store_path, redis: this.#redis, logger, embedThroughModel });
    this.#inFlight = config.coalesce ? new InFlightMisses() : undefined;
  }

  /** Loads the persisted semantic index and joins the replicas' announcements. */
  start(): Promise<void> {
    return this.#semantic.start((address, answer) => void this.#memory.set(address, answer));
  }

  /**
   * Looks the request up (after MCP enrichment, so injected context is part of the key).
   * Returns 'answered' when the cache answered, a ticket to store the upstream's answer, or
   * undefined when the answer is not to be stored. `runsTools`: a gateway tool loop's answer
   * depends on live tool results and is never cached.
   */
  lookup(
    context: RequestContext,
    request: ChatRequest,
    target: CacheTarget & { readonly runsTools: boolean; readonly bodyText?: string | undefined },
  ): CacheLookup | Promise<CacheLookup> {
    const policy = this.#policies.forModel(request.model);
    if (!policy.enabled) return undefined;
    if (target.runsTools) {
      this.#mark(context, { status: 'bypass' }, policy.namespace);
      return undefined;
    }
    const directive = parseDirective(requestHeader(context.req, 'x-lightport-cache'));
    const ttlS = parseTtlHeader(requestHeader(context.req, 'x-lightport-cache-ttl')) ?? policy.ttl_s;
    if (directive === 'no-cache' || !isCacheable(policy, request['temperature'])) {
      this.#mark(context, { status: 'bypass' }, policy.namespace);
      return undefined;
    }
    // With gateway keys on, the auth stage has taken the Authorization header: the key's name is the tenant.
    const caller = context.keyName === undefined ? requestHeader(context.req, 'authorization') : `lightport-key ${context.keyName}`;
    const namespace = this.#keys.namespace(policy, caller);
    const address = this.#keys.address(request, target, namespace, target.bodyText);
    const semantic =
      policy.mode === 'semantic'
        ? semanticQuery(request, target, { namespace, embed: policy.embed, embeddingModel: policy.embedding_model })
        : undefined;
    const lookup: Lookup = { context, request, policy, address, directive, ttlS };
    if (directive === 'refresh') {
      this.#mark(context, { status: 'bypass' }, namespace);
      return this.#ticket(lookup, semantic);
    }
    // An in-process hit (or a plain miss) is decided at once: no promise on the path of a hit.
    const local = this.#memory.peek(address);
    if (local !== undefined) return this.#serve(lookup, local, { status: 'hit-exact' });
    if (this.#shared === undefined && semantic === undefined) return this.#miss(lookup, semantic);
    return this.#lookFurther(lookup, semantic);
  }

  /** The shared tier, then the semantic index. */
  async #lookFurther(lookup: Lookup, semantic: SemanticQuery | undefined): Promise<CacheLookup> {
    const { address, policy } = lookup;
    const exact = await this.#fromShared(address);
    if (exact !== undefined) return this.#serve(lookup, exact, { status: 'hit-exact' });
    if (semantic !== undefined) {
      const found = await this.#semantic.find(semantic, policy);
      const answer = found === undefined ? undefined : (this.#memory.peek(found.address) ?? (await this.#fromShared(found.address)));
      if (found !== undefined && answer !== undefined) {
        return this.#serve(lookup, answer, { status: 'hit-semantic', similarity: found.similarity });
      }
    }
    // An identical request in flight may have stored its answer (and left the requests in flight) while this one looked further.
    const stored = this.#memory.peek(address);
    if (stored !== undefined) return this.#serve(lookup, stored, { status: 'hit-exact' });
    return this.#miss(lookup, semantic);
  }

  /**
   * A miss: when an identical request is already in flight upstream in this process, waits for
   * its answer; else goes upstream, as the one others wait for when its answer is to be stored.
   */
  #miss(lookup: Lookup, semantic: SemanticQuery | undefined): CacheLookup | Promise<CacheLookup> {
    const inFlight = this.#inFlight;
    if (inFlight === undefined) return this.#alone(lookup, semantic);
    const id = addressId(lookup.address);
    const leader = inFlight.leaderOf(id);
    if (leader !== undefined) {
      return leader.wait(lookup.context.abort, lookup.request.stream === true).then((next) => this.#afterWaiting(lookup, semantic, next));
    }
    if (lookup.directive === 'no-store') return this.#alone(lookup, semantic);
    this.#mark(lookup.context, { status: 'miss' }, lookup.address.namespace);
    return this.#ticket(lookup, semantic, inFlight.lead(id));
  }

  #alone(lookup: Lookup, semantic: SemanticQuery | undefined): CacheTicket | undefined {
    this.#mark(lookup.context, { status: 'miss' }, lookup.address.namespace);
    return lookup.directive === 'no-store' ? undefined : this.#ticket(lookup, semantic);
  }

  /**
   * Served the leader's answer, or its stream as it comes; or upstream alone when it had none; or
   * done when this request's client left or its deadline passed.
   */
  #afterWaiting(lookup: Lookup, semantic: SemanticQuery | undefined, next: Coalesced): CacheLookup | Promise<CacheLookup> {
    switch (next.kind) {
      case 'answer':
        return this.#serve(lookup, next.answer, { status: 'hit-coalesced' });
      case 'follow':
        return this.#follow(lookup, semantic, next.stream);
      case 'alone':
        return this.#alone(lookup, semantic);
      case 'gone':
        this.#mark(lookup.context, { status: 'miss' }, lookup.address.namespace);
        finish(lookup.context, { kind: 'cancelled' });
        return 'answered';
    }
  }

  /** Follows the leader's stream live until it ends (or this request's client leaves); upstream alone when it can no longer be followed. */
  #follow(lookup: Lookup, semantic: SemanticQuery | undefined, stream: LiveStream): CacheLookup | Promise<CacheLookup> {
    const { context, request } = lookup;
    if (context.abort.signal.aborted) return this.#afterWaiting(lookup, semantic, { kind: 'gone' });
    if (!stream.joinable) return this.#alone(lookup, semantic);
    const follower = new StreamFollower(context, stream, request.stream_options?.include_usage === true);
    // Marked before it joins: joining sends the response's head with what the stream sent so far.
    this.#mark(context, { status: 'hit-coalesced' }, lookup.address.namespace);
    if (!follower.follow()) return this.#alone(lookup, semantic); // (not after the check above, in the same turn)
    return follower.ended.then(() => 'answered');
  }

  async purge(filter: PurgeFilter): Promise<{ readonly memory: number; readonly shared: number; readonly semantic: number }> {
    const [memory, shared] = await Promise.all([this.#memory.purge(filter), this.#shared?.purge(filter) ?? 0]);
    const semantic = this.#semantic.purge(filter);
    return { memory, shared, semantic };
  }

  get stats(): { readonly entries: number; readonly bytes: number; readonly semanticEntries: number } {
    return { ...this.#memory.stats, semanticEntries: this.#semantic.size };
  }

  async close(): Promise<void> {
    await this.#semantic.close();
    await this.#memory.close();
    await this.#redis?.close();
  }

  #serve(lookup: Lookup, answer: CachedAnswer, summary: CacheSummary): 'answered' {
    const { context, request } = lookup;
    this.#mark(context, summary, lookup.address.namespace);
    serveCachedAnswer(context, answer, {
      stream: request.stream === true,
      includeUsage: request.stream_options?.include_usage === true,
    });
    return 'answered';
  }

  #mark(context: RequestContext, summary: CacheSummary, namespace: string): void {
    context.cache = summary;
    context.headers['x-lightport-cache'] = summary.status;
    if (summary.similarity !== undefined) context.headers['x-lightport-cache-similarity'] = summary.similarity.toFixed(4);
    if (cacheLookedUp.hasSubscribers) {
      cacheLookedUp.publish({ requestId: context.id, model: context.model ?? '', namespace, ...summary });
    }
  }

  async #fromShared(address: AnswerAddress): Promise<CachedAnswer | undefined> {
    if (this.#shared === undefined) return undefined;
    try {
      const answer = await this.#shared.get(address);
      if (answer !== undefined) await this.#memory.set(address, answer);
      return answer;
    } catch (error) {
      this.#logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'cache: redis read failed');
      return undefined;
    }
  }

  /**
   * `leader`: this request is the one identical requests wait for; they are served its answer as
   * soon as it is stored. A leader that streams keeps its upstream call going for those following
   * its stream when its own client leaves (`Leader.carry`).
   */
  #ticket(lookup: Lookup, semantic: SemanticQuery | undefined, leader?: Leader): CacheTicket {
    if (leader !== undefined && lookup.request.stream === true) {
      return {
        wrap: (attempt) => (options) => {
          const capture = new AnswerCapture(this.#config.max_entry_bytes, leader);
          const sink = capture.wrap(options.sink);
          const call = leader.carry(capture, options, lookup.context);
          return call.run(
            () => attempt({ ...options, sink, signal: call.signal, abortHooks: call }),
            (outcome) => this.#attemptEnded(lookup, semantic, capture, outcome, leader),
          );
        },
        ended: leader.ended,
      };
    }
    return {
      wrap: (attempt) => async (options) => {
        const capture = new AnswerCapture(this.#config.max_entry_bytes, leader);
        const outcome = await attempt({ ...options, sink: capture.wrap(options.sink) });
        this.#attemptEnded(lookup, semantic, capture, outcome, leader);
        return outcome;
      },
      ended: leader?.ended,
    };
  }

  /** Requests following its stream live end as it did, before waiters are served the stored answer. */
  #attemptEnded(
    lookup: Lookup,
    semantic: SemanticQuery | undefined,
    capture: AnswerCapture,
    outcome: AttemptOutcome,
    leader?: Leader,
  ): void {
    leader?.attemptEnded(capture, outcome);
    if (outcome.kind !== 'ok') return;
    const body = capture.completion(outcome.usage);
    if (body === undefined) return;
    const answer: CachedAnswer = { body, expiresAt: Date.now() + lookup.ttlS * 1000, ...usageOf(outcome) };
    this.#store(lookup, semantic, answer);
    leader?.answered(answer);
  }

  /** After the answer was sent: L1 now, L2 and the semantic index without waiting. */
  #store(lookup: Lookup, semantic: SemanticQuery | undefined, answer: CachedAnswer): void {
    const { address } = lookup;
    void this.#memory.set(address, answer);
    this.#shared?.set(address, answer).catch((error: unknown) => {
      this.#logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'cache: redis write failed');
    });
    if (semantic !== undefined) this.#semantic.add(semantic, address, answer);
    if (cacheStored.hasSubscribers) {
      const { entries, bytes } = this.#memory.stats;
      cacheStored.publish({ model: address.model, bytes: answer.body.length, entries, totalBytes: bytes });
    }
  }
}

function usageOf(outcome: AttemptOutcome): Pick<CachedAnswer, 'usage'> {
  return outcome.kind === 'ok' && outcome.usage !== undefined ? { usage: outcome.usage } : {};
}
