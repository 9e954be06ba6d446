import type { Dispatcher } from 'undici';
import { GatewayError } from '../../server/errors.ts';
import type { ChatRequest, EmbeddingsRequest, Provider } from '../types.ts';
import { embeddingInputs, embeddingList } from '../translate/embeddings.ts';
import { isRecord, responseFormatOf } from '../translate/request-parts.ts';
import { jsonBodyTranslator, jsonTranslator } from '../translate/translators.ts';
import {
  createTranslatingProvider,
  type Exchange,
  type TranslatingAdapter,
  type UpstreamRequest,
} from '../translate/translating-provider.ts';
import { reportingWithheldThinking } from '../anthropic/thinking.ts';
import { converseAcceptedFields, effortDecidesThinking, toConverseRequest } from './request.ts';
import { fromConverseResponse } from './response.ts';
import { credentialSource, createSigner, type StaticKeys } from './signer.ts';
import { ConverseStream, eventStreamTranslator } from './stream.ts';

export interface BedrockDescription {
  readonly region: string;
  readonly baseUrl: string;
  readonly keys: StaticKeys | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** Amazon Bedrock's Converse and ConverseStream APIs (and InvokeModel for embeddings), signed with SigV4. */
export function createBedrockProvider(name: string, description: BedrockDescription, dispatcher: Dispatcher): Provider {
  const url = new URL(description.baseUrl);
  const prefix = url.pathname.replace(/\/+$/, '');
  const sign = createSigner(description.region, 'bedrock', credentialSource(description.keys));

  const signed = async (path: string, body: string, accept: string): Promise<UpstreamRequest> => {
    const headers = { 'content-type': 'application/json', accept, ...description.headers };
    return { path, headers: await sign(url, prefix + path, headers, body), body };
  };

  const adapter: TranslatingAdapter = {
    type: 'bedrock',
    baseUrl: description.baseUrl,
    timeoutMs: description.timeoutMs,
    acceptedFields: converseAcceptedFields,
    chat(request: ChatRequest, model: string): Exchange {
      const body = JSON.stringify(toConverseRequest(request, model));
      const jsonMode = responseFormatOf(request) !== undefined;
      if (request.stream === true) {
        const dialect = new ConverseStream(model, request.stream_options?.include_usage === true, jsonMode);
        return {
          request: signed(`${modelPath(model)}/converse-stream`, body, 'application/vnd.amazon.eventstream'),
          translator: eventStreamTranslator(dialect),
        };
      }
      return {
        request: signed(`${modelPath(model)}/converse`, body, 'application/json'),
        translator: jsonTranslator((answer) => fromConverseResponse(answer, model, jsonMode)),
      };
    },
    embeddings(request: EmbeddingsRequest, model: string): Exchange {
      const texts = embeddingInputs(request);
      const dimensions = typeof request['dimensions'] === 'number' ? request['dimensions'] : undefined;
      if (model.startsWith('cohere.')) {
        const body = JSON.stringify({ texts, input_type: 'search_document' });
        const translator = jsonBodyTranslator((answer) => {
          const vectors = isRecord(answer) && Array.isArray(answer['embeddings']) ? (answer['embeddings'] as number[][]) : [];
          return embeddingList(request, model, vectors, 0);
        });
        return { request: signed(`${modelPath(model)}/invoke`, body, 'application/json'), translator };
      }
      if (texts.length !== 1) {
        throw new GatewayError('unsupported_parameter', `Bedrock model '${model}' embeds one input per request; send one input.`, {
          param: 'input',
        });
      }
      const body = JSON.stringify({ inputText: texts[0], ...(dimensions === undefined ? {} : { dimensions }) });
      const translator = jsonBodyTranslator((answer) => {
        const vector = isRecord(answer) && Array.isArray(answer['embedding']) ? (answer['embedding'] as number[]) : [];
        const tokens = isRecord(answer) && typeof answer['inputTextTokenCount'] === 'number' ? answer['inputTextTokenCount'] : 0;
        return embeddingList(request, model, [vector], tokens);
      });
      return { request: signed(`${modelPath(model)}/invoke`, body, 'application/json'), translator };
    },
  };
  return reportingWithheldThinking(createTranslatingProvider(name, adapter, dispatcher), effortDecidesThinking);
}

function modelPath(model: string): string {
  return `/model/${encodeURIComponent(model)}`;
}
