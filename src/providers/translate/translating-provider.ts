import type { Dispatcher } from 'undici';
import { GatewayError } from '../../server/errors.ts';
import { sendUpstream, type AnswerTranslator, type UpstreamCall } from '../http-transport.ts';
import { relayUsageReader } from '../relay-usage.ts';
import { relayStreamEnd } from '../stream-end.ts';
import { withoutUnaccepted } from '../droppable.ts';
import { upstreamPathJoiner } from '../upstream-path.ts';
import type { AttemptOptions, AttemptOutcome, ChatRequest, EmbeddingsRequest, NativeApi, Provider, RelayRequest } from '../types.ts';

/** One request as the provider wants it: where it goes, its headers (auth included) and its body. */
export interface UpstreamRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array;
}

/** A translated exchange: the request to send and the translator for its answer. */
export interface Exchange {
  readonly request: UpstreamRequest | Promise<UpstreamRequest>;
  readonly translator: AnswerTranslator;
}

/**
 * A provider that does not speak OpenAI's wire format: pure translation functions plus a
 * description of where and how to call it. The transport and the outcomes are shared.
 */
export interface TranslatingAdapter {
  readonly type: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  chat(request: ChatRequest, upstreamModel: string): Exchange;
  /**
   * The request fields the provider takes for a model, beyond those every provider reads: a field
   * the caller's API lets the gateway drop (`AttemptOptions.droppable`) is dropped when not among
   * them; absent, every such field is sent (and the request builder takes or refuses it).
   */
  acceptedFields?(upstreamModel: string): ReadonlySet<string>;
  /** Absent when the provider has no embeddings API. */
  embeddings?(request: EmbeddingsRequest, upstreamModel: string): Exchange;
  /** The provider's own API, for an ingress in the same format: the request's path and headers (auth included). */
  readonly native?: {
    readonly apis: ReadonlySet<NativeApi>;
    headers(request: RelayRequest): Record<string, string>;
  };
}

export function createTranslatingProvider(name: string, adapter: TranslatingAdapter, dispatcher: Dispatcher): Provider {
  const url = new URL(adapter.baseUrl);
  const origin = url.origin;
  const fullPath = upstreamPathJoiner(url);

  const call = (
    options: AttemptOptions,
    request: Pick<UpstreamCall, 'method' | 'path' | 'headers' | 'body' | 'readUsage' | 'translator' | 'streamEnd'>,
  ) =>
    sendUpstream({
      dispatcher,
      origin,
      ...request,
      path: fullPath(request.path),
      timeoutMs: options.firstByteTimeoutMs ?? adapter.timeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      signal: options.signal,
      abortHooks: options.abortHooks,
      sink: options.sink,
    });
  const run = async (exchange: Exchange, options: AttemptOptions): Promise<AttemptOutcome> => {
    const upstream = await exchange.request;
    return call(options, { path: upstream.path, headers: upstream.headers, body: upstream.body, translator: exchange.translator });
  };

  const { native } = adapter;
  const relay = (request: RelayRequest, options: AttemptOptions): Promise<AttemptOutcome> =>
    call(options, {
      method: request.method,
      path: request.path,
      headers: native?.headers(request) ?? {},
      ...(request.body === undefined ? {} : { body: request.body }),
      ...relayUsageReader(request),
      ...relayStreamEnd(request),
    });

  return {
    name,
    type: adapter.type,
    ...(native === undefined ? {} : { native: { apis: native.apis, relay } }),
    chat: (request, options) => {
      const model = options.upstreamModel;
      const accepted = options.droppable === undefined ? undefined : adapter.acceptedFields?.(model);
      const sent = accepted === undefined ? request : withoutUnaccepted(request, options, { name, accepted });
      return run(adapter.chat(sent, model), options);
    },
    embeddings: (request, options) => {
      if (adapter.embeddings === undefined) {
        return Promise.reject(
          new GatewayError('invalid_request', `The ${adapter.type} provider '${name}' has no embeddings API.`, { param: 'model' }),
        );
      }
      return run(adapter.embeddings(request, options.upstreamModel), options);
    },
    close: async () => {},
  };
}
