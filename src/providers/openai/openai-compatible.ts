import type { Dispatcher } from 'undici';
import { sendUpstream, type UpstreamCall } from '../http-transport.ts';
import { usageFromTail } from './usage.ts';
import { normalizedCompletion, normalizedStream } from './normalize.ts';
import { OPENAI_CHAT_FIELDS, quirkedBody, type OpenAIQuirks } from './quirks.ts';
import { withoutUnaccepted } from '../droppable.ts';
import type { AttemptOptions, AttemptOutcome, ChatRequest, EmbeddingsRequest, NativeApi, Provider, RelayRequest } from '../types.ts';
import { relayUsageReader } from '../relay-usage.ts';
import { openAIStreamEnd, relayStreamEnd } from '../stream-end.ts';
import { upstreamPathJoiner } from '../upstream-path.ts';

/** What differs between OpenAI-compatible upstreams: data, not code. */
export interface OpenAICompatibleDescription {
  readonly name: string;
  readonly type: string;
  readonly baseUrl: string;
  readonly apiKey?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Absent for OpenAI itself and plain compatible upstreams: the request and answer pass through untouched. */
  readonly quirks?: OpenAIQuirks;
  /** Where chat and embeddings go under the base URL (Azure puts the deployment and api-version there). */
  readonly paths?: { chat(model: string): string; embeddings(model: string): string };
  /** How the key is sent; a bearer token by default. */
  readonly auth?: (apiKey: string) => Record<string, string>;
  /** Auth headers fetched and renewed at run time (Entra ID tokens) instead of a key; a failure to get them fails the attempt. */
  readonly tokenAuth?: { headers(): Record<string, string> | Promise<Record<string, string>>; failure(error: unknown): AttemptOutcome };
  /** The OpenAI APIs besides chat the upstream serves itself, relayed unchanged; where they live when not under the base URL as at OpenAI. */
  readonly native?: { readonly apis: ReadonlySet<NativeApi>; path?(request: RelayRequest, model: string): string };
  /** Ask for usage in streams (for cost), hiding the extra chunk from callers who did not ask; on by default. */
  readonly streamUsage?: boolean;
}

const DEFAULT_PATHS = { chat: () => '/chat/completions', embeddings: () => '/embeddings' };
const bearer = (apiKey: string): Record<string, string> => ({ authorization: `Bearer ${apiKey}` });

/** OpenAI and every upstream that speaks its wire format: the request passes through, quirks aside. */
export function createOpenAICompatibleProvider(description: OpenAICompatibleDescription, dispatcher: Dispatcher): Provider {
  const url = new URL(description.baseUrl);
  const origin = url.origin;
  const fullPath = upstreamPathJoiner(url);
  const paths = description.paths ?? DEFAULT_PATHS;
  const auth = description.auth ?? bearer;
  const staticHeaders = upstreamHeaders(description.headers, description.apiKey === undefined ? {} : auth(description.apiKey));
  const { quirks } = description;
  const fieldsTaken = { name: description.name, accepted: quirks?.acceptedFields ?? OPENAI_CHAT_FIELDS };

  const { tokenAuth } = description;
  let tokenHeaders: { readonly auth: Record<string, string>; readonly merged: Record<string, string> } | undefined;
  /** The static headers with the current token's: merged again only when the token changed. */
  const withToken = (headers: Record<string, string>): Record<string, string> => {
    if (tokenHeaders?.auth !== headers) tokenHeaders = { auth: headers, merged: upstreamHeaders(description.headers, headers) };
    return tokenHeaders.merged;
  };
  type Request = Pick<UpstreamCall, 'method' | 'path' | 'body' | 'readUsage' | 'translator' | 'hideUsageEvent' | 'streamEnd'>;
  const callWith = (headers: Record<string, string>, options: AttemptOptions, request: Request) =>
    sendUpstream({
      dispatcher,
      origin,
      // Field by field rather than spread: one call per attempt, and every call site gives the same shape.
      method: request.method,
      path: fullPath(request.path),
      body: request.body,
      readUsage: request.readUsage,
      translator: request.translator,
      hideUsageEvent: request.hideUsageEvent,
      streamEnd: request.streamEnd,
      headers,
      timeoutMs: options.firstByteTimeoutMs ?? description.timeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      signal: options.signal,
      abortHooks: options.abortHooks,
      sink: options.sink,
    });
  const call = (options: AttemptOptions, request: Request): Promise<AttemptOutcome> => {
    if (options.callerApiKey !== undefined)
      return callWith(upstreamHeaders(description.headers, auth(options.callerApiKey)), options, request);
    if (tokenAuth === undefined) return callWith(staticHeaders, options, request);
    const headers = tokenAuth.headers();
    if (!(headers instanceof Promise)) return callWith(withToken(headers), options, request);
    return headers.then(
      (fetched) => callWith(withToken(fetched), options, request),
      (error: unknown) => tokenAuth.failure(error),
    );
  };
  const send = (
    path: string,
    body: string,
    options: AttemptOptions,
    translate?: 'stream' | 'json' | 'stream-with-usage',
    hideUsage = false,
  ) =>
    call(options, {
      path,
      body,
      readUsage: usageFromTail,
      hideUsageEvent: hideUsage,
      streamEnd: openAIStreamEnd,
      translator:
        translate === undefined
          ? undefined
          : translate === 'json'
            ? normalizedCompletion()
            : normalizedStream(translate === 'stream-with-usage'),
    });

  const chat = (asked: ChatRequest, options: AttemptOptions) => {
    const request = withoutUnaccepted(asked, options, fieldsTaken);
    const path = paths.chat(options.upstreamModel);
    if (quirks === undefined) {
      if (description.streamUsage === false || request.stream !== true || request.stream_options?.include_usage === true) {
        return send(path, passthroughBody(request, options.upstreamModel), options);
      }
      // The caller did not ask for usage; the gateway does (for cost) and hides the extra chunk.
      const withUsage = { ...request, stream_options: { ...request.stream_options, include_usage: true } };
      return send(path, passthroughBody(withUsage, options.upstreamModel), options, undefined, true);
    }
    const body = JSON.stringify(quirkedBody(request, options.upstreamModel, quirks));
    if (!quirks.normalizeAnswers) return send(path, body, options);
    const mode = request.stream !== true ? 'json' : request.stream_options?.include_usage === true ? 'stream-with-usage' : 'stream';
    return send(path, body, options, mode);
  };

  const native = description.native;
  const relay = (request: RelayRequest, options: AttemptOptions) =>
    call(options, {
      method: request.method,
      path: native?.path?.(request, options.upstreamModel) ?? request.path,
      ...(request.body === undefined ? {} : { body: request.body }),
      ...relayUsageReader(request),
      ...relayStreamEnd(request),
    });

  return {
    name: description.name,
    type: description.type,
    ...(native === undefined ? {} : { native: { apis: native.apis, relay } }),
    chat,
    embeddings: (request: EmbeddingsRequest, options) =>
      send(paths.embeddings(options.upstreamModel), passthroughBody(request, options.upstreamModel), options),
    close: async () => {},
  };
}

function passthroughBody(request: { model: string }, model: string): string {
  return JSON.stringify(request.model === model ? request : { ...request, model });
}

function upstreamHeaders(extra: Readonly<Record<string, string>>, auth: Record<string, string>): Record<string, string> {
  return { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra, ...auth };
}
