import type { Dispatcher } from 'undici';
import { sendUpstream } from '../http-transport.ts';
import { usageFromTail } from './usage.ts';
import type { AttemptOptions, ChatRequest, EmbeddingsRequest, Provider } from '../types.ts';

/** What differs between OpenAI-compatible upstreams: data, not code. */
export interface OpenAICompatibleDescription {
  readonly name: string;
  readonly type: string;
  readonly baseUrl: string;
  readonly apiKey?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Ask for usage in streams (for cost), hiding the extra chunk from callers who did not ask. */
  readonly streamUsage: boolean;
}

/** OpenAI and every upstream that speaks its wire format: the request passes through. */
export function createOpenAICompatibleProvider(description: OpenAICompatibleDescription, dispatcher: Dispatcher): Provider {
  const url = new URL(description.baseUrl);
  const origin = url.origin;
  const prefix = url.pathname.replace(/\/+$/, '');
  const staticHeaders = upstreamHeaders(description.headers, description.apiKey);

  const send = (path: string, request: { model: string }, options: AttemptOptions, hideUsage = false) =>
    sendUpstream({
      dispatcher,
      origin,
      path: prefix + path,
      headers: options.callerApiKey === undefined ? staticHeaders : upstreamHeaders(description.headers, options.callerApiKey),
      body: JSON.stringify(request.model === options.upstreamModel ? request : { ...request, model: options.upstreamModel }),
      timeoutMs: description.timeoutMs,
      signal: options.signal,
      sink: options.sink,
      readUsage: usageFromTail,
      hideUsageEvent: hideUsage,
    });

  const chat = (request: ChatRequest, options: AttemptOptions) => {
    if (!description.streamUsage || request.stream !== true || request.stream_options?.include_usage === true) {
      return send('/chat/completions', request, options);
    }
    const withUsage = { ...request, stream_options: { ...request.stream_options, include_usage: true } };
    return send('/chat/completions', withUsage, options, true);
  };

  return {
    name: description.name,
    type: description.type,
    chat,
    embeddings: (request: EmbeddingsRequest, options) => send('/embeddings', request, options),
    close: async () => {},
  };
}

function upstreamHeaders(extra: Readonly<Record<string, string>>, apiKey: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra };
  if (apiKey) headers['authorization'] = `Bearer ${apiKey}`;
  return headers;
}
