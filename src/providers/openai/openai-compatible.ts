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
}

/** OpenAI and every upstream that speaks its wire format: the request passes through. */
export function createOpenAICompatibleProvider(description: OpenAICompatibleDescription, dispatcher: Dispatcher): Provider {
  const url = new URL(description.baseUrl);
  const origin = url.origin;
  const prefix = url.pathname.replace(/\/+$/, '');
  const staticHeaders = upstreamHeaders(description.headers, description.apiKey);

  const send = (path: string, request: { model: string }, options: AttemptOptions) =>
    sendUpstream({
      dispatcher,
      origin,
      path: prefix + path,
      headers: options.callerApiKey === undefined ? staticHeaders : upstreamHeaders(description.headers, options.callerApiKey),
      body: JSON.stringify(request.model === options.upstreamModel ? request : { ...request, model: options.upstreamModel }),
      timeoutMs: options.firstByteTimeoutMs ?? description.timeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? description.timeoutMs,
      signal: options.signal,
      sink: options.sink,
      readUsage: usageFromTail,
    });

  return {
    name: description.name,
    type: description.type,
    chat: (request: ChatRequest, options) => send('/chat/completions', request, options),
    embeddings: (request: EmbeddingsRequest, options) => send('/embeddings', request, options),
    close: async () => {},
  };
}

function upstreamHeaders(extra: Readonly<Record<string, string>>, apiKey: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra };
  if (apiKey) headers['authorization'] = `Bearer ${apiKey}`;
  return headers;
}
