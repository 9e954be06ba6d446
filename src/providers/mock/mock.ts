import { setTimeout as sleep } from 'node:timers/promises';
import type { MockProviderConfig } from '../../config/schema.ts';
import { SSE_CONTENT_TYPE, SSE_DONE, sseData } from '../../server/sse.ts';
import type { AttemptOptions, AttemptOutcome, ChatRequest, EmbeddingsRequest, Provider } from '../types.ts';
import { digest, estimateTokens, mockAnswer, type MockAnswer } from './answer.ts';
import { mockEmbedding, toBase64 } from './embeddings.ts';
import { createInjector } from './injector.ts';

/** A provider with no network: deterministic answers, latency and failures for demos, tests and benchmarks. */
export function createMockProvider(name: string, config: MockProviderConfig): Provider {
  const injectFailure = createInjector(config.errors);

  const chat = async (request: ChatRequest, options: AttemptOptions): Promise<AttemptOutcome> => {
    const failure = await injectFailure(options.signal);
    if (failure) return failure;
    const answer = mockAnswer(config, request);
    const id = `chatcmpl-mock-${digest(options.requestId).slice(0, 20)}`;
    const created = Math.floor(Date.now() / 1000);
    try {
      if (request.stream === true) {
        await streamAnswer({
          config,
          answer,
          id,
          created,
          model: options.upstreamModel,
          includeUsage: request.stream_options?.include_usage === true,
          options,
        });
      } else {
        const delay = config.first_token_ms + config.chunk_ms * Math.max(0, chunkText(answer.text, config.chunk_words).length - 1);
        // A zero delay still costs a timer tick (~1 ms); skip it so the mock adds no latency of its own.
        if (delay > 0) await sleep(delay, undefined, { signal: options.signal });
        options.sink.start(200, 'application/json');
        options.sink.write(JSON.stringify(completion(answer, id, created, options.upstreamModel)));
        options.sink.end(answer.usage);
      }
      return { kind: 'ok', usage: answer.usage };
    } catch (error) {
      if (options.signal.aborted) return { kind: 'cancelled' };
      throw error;
    }
  };

  const embeddings = async (request: EmbeddingsRequest, options: AttemptOptions): Promise<AttemptOutcome> => {
    const failure = await injectFailure(options.signal);
    if (failure) return failure;
    const inputs = Array.isArray(request.input) ? request.input : [request.input];
    const texts = inputs.map((input) => (typeof input === 'string' ? input : JSON.stringify(input)));
    const data = texts.map((text, index) => {
      const vector = mockEmbedding(text, config.embedding_dimensions);
      return { object: 'embedding', index, embedding: request.encoding_format === 'base64' ? toBase64(vector) : Array.from(vector) };
    });
    const tokens = texts.reduce((sum, text) => sum + estimateTokens(text), 0);
    options.sink.start(200, 'application/json');
    options.sink.write(
      JSON.stringify({ object: 'list', data, model: options.upstreamModel, usage: { prompt_tokens: tokens, total_tokens: tokens } }),
    );
    const usage = { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens };
    options.sink.end(usage);
    return { kind: 'ok', usage };
  };

  return { name, type: 'mock', chat, embeddings, close: async () => {} };
}

function completion(answer: MockAnswer, id: string, created: number, model: string) {
  const toolCalls = answer.toolCalls.map((call) => ({
    id: call.id,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }));
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: toolCalls.length > 0 ? null : answer.text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
      },
    ],
    usage: answer.usage,
  };
}

interface StreamPlan {
  readonly config: MockProviderConfig;
  readonly answer: MockAnswer;
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly includeUsage: boolean;
  readonly options: AttemptOptions;
}

async function streamAnswer(plan: StreamPlan): Promise<void> {
  const { config, answer, options } = plan;
  const chunk = (delta: object, finishReason: string | null = null) => ({
    id: plan.id,
    object: 'chat.completion.chunk',
    created: plan.created,
    model: plan.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  const deltas: object[] = [];
  if (answer.toolCalls.length === 0) {
    const pieces = chunkText(answer.text, config.chunk_words);
    pieces.forEach((piece, index) => deltas.push(index === 0 ? { role: 'assistant', content: piece } : { content: piece }));
    if (pieces.length === 0) deltas.push({ role: 'assistant', content: '' });
  } else {
    answer.toolCalls.forEach((call, index) => {
      const head = { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } };
      deltas.push(index === 0 ? { role: 'assistant', content: null, tool_calls: [head] } : { tool_calls: [head] });
      for (const fragment of splitEvenly(call.arguments, 3)) deltas.push({ tool_calls: [{ index, function: { arguments: fragment } }] });
    });
  }

  if (config.first_token_ms > 0) await sleep(config.first_token_ms, undefined, { signal: options.signal });
  options.sink.start(200, SSE_CONTENT_TYPE);
  for (const [index, delta] of deltas.entries()) {
    if (index > 0 && config.chunk_ms > 0) await sleep(config.chunk_ms, undefined, { signal: options.signal });
    await write(options, sseData(chunk(delta)));
  }
  await write(options, sseData(chunk({}, answer.toolCalls.length > 0 ? 'tool_calls' : 'stop')));
  if (plan.includeUsage) {
    await write(
      options,
      sseData({ id: plan.id, object: 'chat.completion.chunk', created: plan.created, model: plan.model, choices: [], usage: answer.usage }),
    );
  }
  await write(options, SSE_DONE);
  options.sink.end(answer.usage);
}

function write(options: AttemptOptions, text: string): Promise<void> | undefined {
  if (options.sink.write(text)) return undefined;
  return new Promise((resume) => options.sink.onDrain(resume));
}

/** Words with their following space kept, `size` words a chunk, so chunks join back exactly. */
function chunkText(text: string, size: number): string[] {
  const words = text.match(/\S+\s*|\s+/g) ?? [];
  const chunks: string[] = [];
  for (let index = 0; index < words.length; index += size) chunks.push(words.slice(index, index + size).join(''));
  return chunks;
}

function splitEvenly(text: string, parts: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts));
  const pieces: string[] = [];
  for (let index = 0; index < text.length; index += size) pieces.push(text.slice(index, index + size));
  return pieces;
}
