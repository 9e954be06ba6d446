import type { Dispatcher } from 'undici';
import type { EmbeddingsRequest, Provider } from '../types.ts';
import { isRecord } from '../translate/request-parts.ts';
import { jsonBodyTranslator, jsonTranslator, sseTranslator } from '../translate/translators.ts';
import { createTranslatingProvider, type TranslatingAdapter } from '../translate/translating-provider.ts';
import { embeddingInputs, embeddingList } from '../translate/embeddings.ts';
import { GEMINI_FIELDS, toGeminiRequest } from './request.ts';
import { fromGeminiResponse } from './response.ts';
import { GeminiStream } from './stream.ts';

export interface GoogleDescription {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** The Gemini API: `generateContent`, `streamGenerateContent?alt=sse`, `batchEmbedContents`; key in `x-goog-api-key`. */
export function createGoogleProvider(name: string, description: GoogleDescription, dispatcher: Dispatcher): Provider {
  const headers = { 'content-type': 'application/json', 'x-goog-api-key': description.apiKey, ...description.headers };
  const adapter: TranslatingAdapter = {
    type: 'google',
    baseUrl: description.baseUrl,
    timeoutMs: description.timeoutMs,
    acceptedFields: () => GEMINI_FIELDS,
    chat(request, model) {
      const body = JSON.stringify(toGeminiRequest(request));
      if (request.stream === true) {
        const translator = sseTranslator(new GeminiStream(model, request.stream_options?.include_usage === true));
        return { request: { path: `${modelPath(model)}:streamGenerateContent?alt=sse`, headers, body }, translator };
      }
      return {
        request: { path: `${modelPath(model)}:generateContent`, headers, body },
        translator: jsonTranslator((answer) => fromGeminiResponse(answer, model)),
      };
    },
    embeddings(request: EmbeddingsRequest, model) {
      const dimensions = typeof request['dimensions'] === 'number' ? request['dimensions'] : undefined;
      const requests = embeddingInputs(request).map((text) => ({
        model: `models/${model}`,
        content: { parts: [{ text }] },
        ...(dimensions === undefined ? {} : { outputDimensionality: dimensions }),
      }));
      const translator = jsonBodyTranslator((answer) => {
        const embeddings = isRecord(answer) && Array.isArray(answer['embeddings']) ? answer['embeddings'] : [];
        const vectors = embeddings.map((item: unknown) =>
          isRecord(item) && Array.isArray(item['values']) ? (item['values'] as number[]) : [],
        );
        return embeddingList(request, model, vectors, 0);
      });
      return { request: { path: `${modelPath(model)}:batchEmbedContents`, headers, body: JSON.stringify({ requests }) }, translator };
    },
  };
  return createTranslatingProvider(name, adapter, dispatcher);
}

function modelPath(model: string): string {
  return `/models/${encodeURIComponent(model)}`;
}
