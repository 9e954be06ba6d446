import type { IncomingHttpHeaders } from 'node:http';
import type { OpenAIErrorBody } from '../server/errors.ts';

/** The internal request: OpenAI's chat-completions shape, parsed once at ingress. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: ChatTool[];
  tool_choice?: unknown;
  [field: string]: unknown;
}

export interface ChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: unknown[];
  tool_call_id?: string;
  [field: string]: unknown;
}

export interface ChatTool {
  type: string;
  function?: { name: string; description?: string; parameters?: unknown };
  [field: string]: unknown;
}

export interface EmbeddingsRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
  [field: string]: unknown;
}

/**
 * Where a provider writes a successful answer. `start` is called once, before any
 * byte, so the pipeline can still choose another target until then.
 */
export interface ResponseSink {
  start(status: number, contentType: string): void;
  /** Returns false when the client is not keeping up; the provider should pause. */
  write(chunk: Buffer | string): boolean;
  onDrain(resume: () => void): void;
  /**
   * The answer is complete. Pass its usage when known: the cost then goes out with the
   * answer's last bytes (the response ends in the same tick, in the same write). `failure`: the
   * code of the error event a stream ended with instead of its end (the upstream's own, passed on;
   * or the one a translation wrote for a stream that never finished or could not be read): the
   * stream ends there, the request is recorded as failed, the attempt as a failure of its target,
   * and the answer is never cached.
   */
  end(usage?: TokenUsage, failure?: string): void;
}

/**
 * Token counts as OpenAI reports them; the detail fields only when the upstream gave them.
 * `prompt_tokens` counts every input token, cached reads and cache writes included;
 * `completion_tokens` counts every output token, reasoning included.
 */
export interface TokenUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly cached_tokens?: number;
  /** Input tokens written to a prompt cache (Anthropic's cache_creation_input_tokens). */
  readonly cache_write_tokens?: number;
  readonly reasoning_tokens?: number;
}

/** Why an upstream refused, for the router's retry and fallback decisions. */
export type UpstreamErrorClass = 'rate_limit' | 'overloaded' | 'context_length' | 'auth' | 'bad_request' | 'not_found' | 'server';

/** How one upstream attempt ended. */
export type AttemptOutcome =
  | { readonly kind: 'ok'; readonly usage?: TokenUsage }
  | {
      readonly kind: 'upstream_error';
      readonly status: number;
      readonly body: OpenAIErrorBody;
      /** Retry-After as sent to the client (seconds). */
      readonly retryAfter?: string;
      readonly errorClass?: UpstreamErrorClass;
      /** How long the upstream asked us to wait, from its headers or its error body. */
      readonly retryAfterMs?: number;
    }
  | {
      readonly kind: 'failed';
      readonly code: 'upstream_unreachable' | 'upstream_timeout' | 'upstream_not_allowed';
      readonly message: string;
    }
  /** The answer had started reaching the client when the upstream failed; `usage`, what the answer had reported so far. */
  | { readonly kind: 'broken'; readonly message: string; readonly usage?: TokenUsage }
  | { readonly kind: 'cancelled' };

/** Hooks run when the attempt's signal aborts: a cheaper way to hear of it than a listener on the signal. */
export interface AbortHooks {
  add(hook: () => void): void;
  remove(hook: () => void): void;
}

export interface AttemptOptions {
  readonly upstreamModel: string;
  readonly sink: ResponseSink;
  readonly signal: AbortSignal;
  /** Run when `signal` aborts; an upstream call registers here instead of listening on the signal. */
  readonly abortHooks?: AbortHooks;
  /** The caller's own key, in passthrough mode. */
  readonly callerApiKey?: string;
  readonly requestId: string;
  /** Per-attempt limits from the router; the provider's own timeout when absent. */
  readonly firstByteTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  /**
   * Fields of the request that its caller's API lets the gateway drop where the upstream has no
   * equivalent (Anthropic's `top_k` and thinking budget, from /v1/messages); absent for chat
   * callers, whose every field is sent or refused.
   */
  readonly droppable?: ReadonlySet<string>;
}

export interface Provider {
  readonly name: string;
  readonly type: string;
  chat(request: ChatRequest, options: AttemptOptions): Promise<AttemptOutcome>;
  embeddings(request: EmbeddingsRequest, options: AttemptOptions): Promise<AttemptOutcome>;
  /** The APIs besides chat that this provider's upstream speaks itself; absent when it speaks none. */
  readonly native?: NativeRelay;
  close(): Promise<void>;
}

/** Wire formats an upstream may speak natively, so an ingress in that format can relay instead of translating. */
export type NativeApi = 'anthropic-messages' | 'openai-responses' | 'openai-completions';

/** One request in a native API, relayed as it is (only the model is the upstream's). */
export interface RelayRequest {
  readonly api: NativeApi;
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Under the API root, with any query: `/messages`, `/responses/resp_1/input_items?limit=5`. */
  readonly path: string;
  /** JSON text, for POST. */
  readonly body?: string;
  /** Whether the answer is an event stream (decides how its usage is read). */
  readonly stream: boolean;
  /** The caller's headers that belong to this API (e.g. `anthropic-beta`), sent upstream as they are. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface NativeRelay {
  readonly apis: ReadonlySet<NativeApi>;
  relay(request: RelayRequest, options: AttemptOptions): Promise<AttemptOutcome>;
}

export type UpstreamHeaders = IncomingHttpHeaders;
