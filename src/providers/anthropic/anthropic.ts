import type { Dispatcher } from 'undici';
import type { NativeApi, Provider } from '../types.ts';
import { jsonTranslator, sseTranslator } from '../translate/translators.ts';
import { responseFormatOf } from '../translate/request-parts.ts';
import { createTranslatingProvider, type TranslatingAdapter } from '../translate/translating-provider.ts';
import { ANTHROPIC_ACCEPTED, toAnthropicRequest } from './request.ts';
import { fromAnthropicMessage } from './response.ts';
import { AnthropicStream } from './stream.ts';
import { reportingWithheldThinking } from './thinking.ts';

export interface AnthropicDescription {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly version: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

const NATIVE_APIS: ReadonlySet<NativeApi> = new Set(['anthropic-messages']);

/** Anthropic's Messages API: `x-api-key` and `anthropic-version` headers, SSE with event lines. */
export function createAnthropicProvider(name: string, description: AnthropicDescription, dispatcher: Dispatcher): Provider {
  const headers = {
    'content-type': 'application/json',
    'x-api-key': description.apiKey,
    'anthropic-version': description.version,
    ...description.headers,
  };
  const adapter: TranslatingAdapter = {
    type: 'anthropic',
    baseUrl: description.baseUrl,
    timeoutMs: description.timeoutMs,
    acceptedFields: () => ANTHROPIC_ACCEPTED,
    chat(request, model) {
      const body = JSON.stringify(toAnthropicRequest(request, model));
      const jsonMode = responseFormatOf(request) !== undefined;
      const translator =
        request.stream === true
          ? sseTranslator(new AnthropicStream(model, request.stream_options?.include_usage === true, jsonMode))
          : jsonTranslator((answer) => fromAnthropicMessage(answer, jsonMode));
      return { request: { path: '/messages', headers, body }, translator };
    },
    native: {
      apis: NATIVE_APIS,
      // The caller's own anthropic-version and anthropic-beta go through; the key is always the configured one.
      headers: (request) => ({ ...headers, ...request.headers, 'x-api-key': description.apiKey }),
    },
  };
  return reportingWithheldThinking(createTranslatingProvider(name, adapter, dispatcher), () => true);
}
