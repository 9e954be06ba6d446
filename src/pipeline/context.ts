import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpAllowlist } from '../mcp/policy.ts';
import type { AttemptFinished, BodyCapture, Operation } from '../observability/events.ts';
import type { ModelPrice } from '../observability/pricing.ts';
import type { TokenUsage } from '../providers/types.ts';
import type { OpenAIErrorBody } from '../server/errors.ts';
import { RequestAbort } from './request-abort.ts';
import type { WireFormat } from './wire-format.ts';

/** The caller's Lightport key, as the auth stage resolved it (limits/keys.ts builds it). */
export interface CallerKey {
  readonly name: string;
  readonly team: string | undefined;
  readonly metadata: Readonly<Record<string, string | number | boolean>>;
  /** Model-name globs the key may call. */
  readonly models: readonly string[];
  /** MCP servers whose every tool is allowed ("*": all), and per server the only tools allowed there. */
  readonly mcp: { readonly servers: readonly string[]; readonly tools: Readonly<Record<string, readonly string[]>> };
  allowsModel(model: string): boolean;
  /** Without a tool: whether the key may use the server at all (some or all of its tools). */
  allowsMcp(server: string, tool?: string): boolean;
}

/** The limits' claim on an admitted request (limits/ticket.ts), settled once the response has closed. */
export interface SettledAfterResponse {
  settle(context: RequestContext): void;
}

export type AbortReason = 'client_closed' | 'deadline' | 'shutdown';

/** Everything one request carries through the pipeline, typed. */
export interface RequestContext {
  readonly id: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** performance.now() by which the whole request must be done (server.request_timeout_ms). */
  deadlineAt: number;
  /** Aborted when the client goes away or the request deadline passes; cancels upstream work. */
  readonly abort: RequestAbort;
  /** Headers every response of this request carries (request id, then the target used). */
  readonly headers: Record<string, string>;
  /** Which bodies to keep for the access log and the request-log store. */
  readonly bodyCapture: BodyCapture;
  /** Set when the answer started as an event stream. */
  streaming?: boolean;
  operation?: Operation;
  model?: string;
  provider?: string;
  providerType?: string;
  upstreamModel?: string;
  /** The chosen target's price, when known. */
  price?: ModelPrice | undefined;
  usage?: TokenUsage;
  /** Set by the auth stage when `auth` is on: the key's name, team, metadata and what it may use. */
  key?: CallerKey;
  ticket?: SettledAfterResponse;
  costUsd?: number;
  /** performance.now() when the first byte of the answer went to the client. */
  firstByteAt?: number;
  /** Total time spent in upstream attempts. */
  upstreamMs: number;
  /** The request's position in the server's in-flight list (server/in-flight.ts); -1 once it left. */
  inFlightIndex: number;
  /** One record per upstream attempt, kept only while someone observes requests. */
  attempts?: AttemptFinished[];
  /** The caller's API, when not OpenAI's: errors are written in its shape. */
  format?: WireFormat;
  /** The caller's gateway key name, once authentication has resolved it; routing rules read it as caller.key. */
  keyName?: string;
  /** The caller's end user: the request body's `user` field. */
  user?: string;
  errorCode?: string;
  errorBody?: OpenAIErrorBody;
  requestBody?: unknown;
  /** The request body as it arrived (JSON text), for values derived from it alone and remembered by it. */
  bodyText?: string;
  responseChunks?: (Buffer | string)[];
  /** Named routing rules that chose the plan; MCP policies may attach to them. */
  routeRules?: readonly string[];
  /** Set by the auth stage: the MCP servers and tools this caller may use (narrows the policy). */
  mcpAllow?: McpAllowlist;
  /** What the MCP stage did for this request, for the request log. */
  mcp?: McpRequestSummary;
  /** How the cache stage answered; a hit had no upstream cost. */
  cache?: CacheSummary;
  /**
   * Set when the client left while identical requests followed this one's stream, and its upstream
   * call goes on for them (cache/coalesce.ts, `CarriedCall`): resolves once that call has ended and
   * its usage and cost are on this request. Its limits are settled, and it is reported, then.
   */
  carried?: Promise<void>;
}

export interface CacheSummary {
  /** hit-coalesced: the answer of an identical request that was in flight when this one missed. */
  readonly status: 'hit-exact' | 'hit-semantic' | 'hit-coalesced' | 'miss' | 'bypass';
  readonly similarity?: number;
}

export interface McpRequestSummary {
  /** Servers and sources the request would have used but could not reach. */
  readonly unavailable?: readonly string[];
  readonly iterations?: number;
  readonly toolCalls?: number;
}

/**
 * A new request's context with every field present from the start, the optional ones as
 * undefined: every context then has one hidden class, so the pipeline's property accesses stay
 * monomorphic and setting a field later is a plain store, not a shape transition.
 */
export function createRequestContext(
  fields: Pick<RequestContext, 'id' | 'req' | 'res' | 'startedAt' | 'deadlineAt' | 'bodyCapture'>,
): RequestContext {
  return {
    id: fields.id,
    req: fields.req,
    res: fields.res,
    startedAt: fields.startedAt,
    deadlineAt: fields.deadlineAt,
    abort: new RequestAbort(),
    headers: { 'x-request-id': fields.id },
    bodyCapture: fields.bodyCapture,
    streaming: undefined,
    operation: undefined,
    model: undefined,
    provider: undefined,
    providerType: undefined,
    upstreamModel: undefined,
    price: undefined,
    usage: undefined,
    key: undefined,
    ticket: undefined,
    costUsd: undefined,
    firstByteAt: undefined,
    upstreamMs: 0,
    inFlightIndex: -1,
    attempts: undefined,
    format: undefined,
    keyName: undefined,
    user: undefined,
    errorCode: undefined,
    errorBody: undefined,
    requestBody: undefined,
    bodyText: undefined,
    responseChunks: undefined,
    routeRules: undefined,
    mcpAllow: undefined,
    mcp: undefined,
    cache: undefined,
    carried: undefined,
  } satisfies Record<keyof RequestContext, unknown>; // every key, optional ones included
}

export function abortReason(context: RequestContext): AbortReason | undefined {
  return context.abort.signal.aborted ? (context.abort.signal.reason as AbortReason) : undefined;
}
