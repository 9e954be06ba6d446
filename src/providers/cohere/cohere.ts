import type { Dispatcher } from 'undici';
import type { Provider } from '../types.ts';
import { embeddingInputs, embeddingList } from '../translate/embeddings.ts';
import { isRecord } from '../translate/request-parts.ts';
import { jsonBodyTranslator, jsonTranslator, sseTranslator } from '../translate/translators.ts';
import { createTranslatingProvider, type TranslatingAdapter } from '../translate/translating-provider.ts';
import { COHERE_FIELDS, toCohereRequest } from './request.ts';
import { fromCohereResponse } from './response.ts';
import { CohereStream } from './stream.ts';

export interface CohereDescription {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** Cohere's v2 API: `/v2/chat` (SSE with event lines) and `/v2/embed`, bearer key. */
export function createCohereProvider(name: string, description: CohereDescription, dispatcher: Dispatcher): Provider {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${description.apiKey}`, ...description.headers };
  const adapter: TranslatingAdapter = {
    type: 'cohere',
    baseUrl: description.baseUrl,
    timeoutMs: description.timeoutMs,
    acceptedFields: () => COHERE_FIELDS,
    chat(request, model) {
      const body = JSON.stringify(toCohereRequest(request, model));
      const translator =
        request.stream === true
          ? sseTranslator(new CohereStream(model, request.stream_options?.include_usage === true))
          : jsonTranslator((answer) => fromCohereResponse(answer, model));
      return { request: { path: '/v2/chat', headers, body }, translator };
    },
    embeddings(request, model) {
      const dimensions = typeof request['dimensions'] === 'number' ? request['dimensions'] : undefined;
      const body = JSON.stringify({
        model,
        texts: embeddingInputs(request),
        input_type: 'search_document',
        embedding_types: ['float'],
        ...(dimensions === undefined ? {} : { output_dimension: dimensions }),
      });
      const translator = jsonBodyTranslator((answer) => {
        const embeddings = isRecord(answer) && isRecord(answer['embeddings']) ? answer['embeddings']['float'] : undefined;
        const meta = isRecord(answer) && isRecord(answer['meta']) ? answer['meta'] : {};
        const billed = isRecord(meta['billed_units']) ? meta['billed_units']['input_tokens'] : undefined;
        return embeddingList(
          request,
          model,
          Array.isArray(embeddings) ? (embeddings as number[][]) : [],
          typeof billed === 'number' ? billed : 0,
        );
      });
      return { request: { path: '/v2/embed', headers, body }, translator };
    },
  };
  return createTranslatingProvider(name, adapter, dispatcher);
}
