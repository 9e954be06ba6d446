import { channel } from 'node:diagnostics_channel';
import type { CacheSummary, McpRequestSummary } from '../pipeline/context.ts';
import type { AttemptOutcome, TokenUsage, UpstreamErrorClass } from '../providers/types.ts';
import type { FailureReason } from '../router/retry-policy.ts';
import type { OpenAIErrorBody } from '../server/errors.ts';

/**
 * What the pipeline tells the world. Stages publish here; metrics, logs, the request-log
 * store and traces subscribe, so no stage calls observability code directly. Publishing
 * costs nothing when nobody subscribes (check `hasSubscribers` before building an event).
 */

/**
 * Why an upstream attempt did not succeed, in few enough kinds to be a metric label: the
 * class of an upstream's error answer, or what happened when there was no answer.
 */
export type AttemptErrorClass = UpstreamErrorClass | 'timeout' | 'unreachable' | 'not_allowed' | 'broken' | 'cancelled';

export interface AttemptFinished {
  readonly requestId: string;
  /** The model the caller asked for. */
  readonly model?: string;
  readonly provider: string;
  readonly providerType: string;
  readonly upstreamModel: string;
  /** `<provider>/<upstream model>`, the key of the target's health record. */
  readonly target: string;
  /** 1 for the request's first attempt, counting retries and fallbacks. */
  readonly attempt: number;
  /** Another attempt on the same target as the one before. */
  readonly retry: boolean;
  /** The first attempt on a target after another target failed or was skipped. */
  readonly fallback: boolean;
  readonly outcome: AttemptOutcome['kind'];
  /** HTTP status the upstream answered with, when it answered. */
  readonly status?: number;
  /** Why the attempt failed: the upstream's error class, or what happened when there was no answer. */
  readonly errorClass?: AttemptErrorClass;
  /** Set when the router tries again after this attempt (same or next target). */
  readonly failureReason?: FailureReason;
  /** When the attempt started, in ms after the request arrived. */
  readonly startMs: number;
  readonly durationMs: number;
}

/** The bodies a request keeps for logging, per `logging.bodies` (decided when it arrives). */
export type BodyCapture = 'off' | 'errors' | 'full';

export type Operation = 'chat' | 'embeddings';

export interface RequestFinished {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** False when the client went away or the connection was cut before the answer was complete. */
  readonly completed: boolean;
  readonly streaming: boolean;
  /** Wall-clock time the request arrived (ms since the epoch). */
  readonly startedAt: number;
  readonly durationMs: number;
  /** Time until the first byte of the answer went to the client. */
  readonly firstByteMs?: number;
  /** Time spent in upstream attempts (request sent to answer ended); duration minus this is the gateway's overhead. */
  readonly upstreamMs: number;
  readonly attempts: readonly AttemptFinished[];
  readonly operation?: Operation;
  readonly model?: string;
  readonly provider?: string;
  readonly providerType?: string;
  readonly upstreamModel?: string;
  readonly usage?: TokenUsage;
  readonly costUsd?: number;
  /** The stable gateway code, or the upstream's error code/type, of a failed request. */
  readonly errorCode?: string;
  /** Name of the gateway key that made the request (set by the auth stage). */
  readonly keyName?: string;
  /** The caller's end user: the request body's `user` field. */
  readonly user?: string;
  /** How the cache answered; on a hit `usage` is what the cached answer reported and no upstream was called. */
  readonly cache?: CacheSummary;
  /** MCP servers or sources that were unavailable, and the tool loop's rounds and calls. */
  readonly mcp?: McpRequestSummary;
  /** W3C trace context sent by the caller. */
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly bodyCapture: BodyCapture;
  /** The parsed request body, when bodies are captured. */
  readonly requestBody?: unknown;
  /** The answer's bytes as sent, when bodies are captured in full. */
  readonly responseChunks?: readonly (Buffer | string)[];
  /** The error body sent to the client, for a failed request. */
  readonly errorBody?: OpenAIErrorBody;
  /** Credentials the request itself carried (a passthrough caller's provider key...), redacted from its bodies; only when bodies are captured. */
  readonly credentials?: readonly string[];
  /** The caller's key's team, when `auth` is on. */
  readonly team?: string;
}

/** A field of the caller's request that the upstream has no part for, dropped as the caller's API allows (`AttemptOptions.droppable`). */
export interface FieldDropped {
  readonly requestId: string;
  readonly provider: string;
  readonly field: string;
  /** Why, when not because the upstream has no part for it (Claude's thinking left off on a tool turn without its thinking blocks). */
  readonly reason?: string;
}

export const fieldDropped = channel('lightport:request:field_dropped');
export const attemptFinished = channel('lightport:attempt:finished');
export const requestFinished = channel('lightport:request:finished');
export const limitsBackendChanged = channel('lightport:limits:backend');

/** The shared limits backend (Redis) became unreachable, or reachable again. */
export interface LimitsBackendChanged {
  readonly state: 'unavailable' | 'recovered';
  readonly failMode: 'open' | 'closed';
  readonly error?: string;
}

/** Published by the router when a target's circuit changes state (payload: CircuitChanged). */
export const circuitChanged = channel('lightport:circuit:changed');

export interface CircuitChanged {
  readonly target: string;
  readonly state: 'closed' | 'half_open' | 'open';
}

export type McpToolCallOutcome = 'ok' | 'tool_error' | 'invalid_arguments' | 'timeout' | 'failed' | 'unavailable';

/** One MCP tool call the gateway ran in a tool loop. Arguments and result are for body-level logging only. */
export interface McpToolCallFinished {
  readonly requestId: string;
  readonly server: string;
  readonly tool: string;
  readonly outcome: McpToolCallOutcome;
  readonly durationMs: number;
  readonly arguments: string;
  readonly result: string;
}

export const mcpToolCallFinished = channel('lightport:mcp:tool_call:finished');

/** One cache lookup: hit (exact or semantic, with the similarity), miss or bypass. */
export interface CacheLookedUp extends CacheSummary {
  readonly requestId: string;
  readonly model: string;
  readonly namespace: string;
}

/** An answer stored in the cache; `entries` and `bytes` are the in-process tier's totals after it. */
export interface CacheStored {
  readonly model: string;
  readonly bytes: number;
  readonly entries: number;
  readonly totalBytes: number;
}

export const cacheLookedUp = channel('lightport:cache:lookup');
export const cacheStored = channel('lightport:cache:stored');
