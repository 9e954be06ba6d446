import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpAllowlist } from '../mcp/policy.ts';
import type { TokenUsage } from '../providers/types.ts';

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

export type AbortReason = 'client_closed' | 'deadline' | 'shutdown';

/** Everything one request carries through the pipeline, typed. */
export interface RequestContext {
  readonly id: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly startedAt: number;
  /** Aborted when the client goes away or the request deadline passes; cancels upstream work. */
  readonly abort: AbortController;
  /** Headers every response of this request carries (request id, then the target used). */
  readonly headers: Record<string, string>;
  /** Set when the answer started as an event stream. */
  streaming?: boolean;
  model?: string;
  provider?: string;
  providerType?: string;
  upstreamModel?: string;
  usage?: TokenUsage;
  /** Set by the auth stage when `auth` is on. */
  key?: CallerKey;
  /** The end user (the body's `user` or x-lightport-user), set by the limits stage when limits are on. */
  user?: string;
  /** Set by the auth stage: the MCP servers and tools this caller may use (narrows the policy). */
  mcpAllow?: McpAllowlist;
  /** What the MCP stage did for this request, for the request log. */
  mcp?: McpRequestSummary;
}

export interface McpRequestSummary {
  /** Servers and sources the request would have used but could not reach. */
  readonly unavailable?: readonly string[];
  readonly iterations?: number;
  readonly toolCalls?: number;
}

export function abortReason(context: RequestContext): AbortReason | undefined {
  return context.abort.signal.aborted ? (context.abort.signal.reason as AbortReason) : undefined;
}
