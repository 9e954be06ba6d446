import { channel } from 'node:diagnostics_channel';
import type { McpRequestSummary } from '../pipeline/context.ts';
import type { AttemptOutcome, TokenUsage, UpstreamErrorClass } from '../providers/types.ts';
import type { FailureReason } from '../router/retry-policy.ts';

/**
 * What the pipeline tells the world. Stages publish here; metrics, logs and stores
 * subscribe, so no stage calls observability code directly. Publishing costs nothing
 * when nobody subscribes (check `hasSubscribers` before building an event).
 */
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
  /** Why the upstream refused, when it did. */
  readonly errorClass?: UpstreamErrorClass;
  /** Set when the router tries again after this attempt (same or next target). */
  readonly failureReason?: FailureReason;
  readonly durationMs: number;
}

export interface RequestFinished {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** False when the client went away or the connection was cut before the answer was complete. */
  readonly completed: boolean;
  readonly streaming: boolean;
  readonly model?: string;
  readonly provider?: string;
  readonly upstreamModel?: string;
  readonly usage?: TokenUsage;
  /** MCP servers or sources that were unavailable, and the tool loop's rounds and calls. */
  readonly mcp?: McpRequestSummary;
  readonly durationMs: number;
}

export const attemptFinished = channel('lightport:attempt:finished');
export const requestFinished = channel('lightport:request:finished');

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
