import { GatewayError } from '../../server/errors.ts';
import type { EmbeddingsRequest, TokenUsage } from '../types.ts';
import { makeUsage } from './openai-output.ts';
import { Buffer } from 'node:buffer';

/** The inputs as texts; token-id inputs only OpenAI understands. */
export function embeddingInputs(request: EmbeddingsRequest): string[] {
  const inputs = Array.isArray(request.input) ? request.input : [request.input];
  return inputs.map((input, index) => {
    if (typeof input === 'string') return input;
    throw new GatewayError('unsupported_parameter', 'This provider embeds text only; token-id inputs are not supported.', {
      param: Array.isArray(request.input) ? `input[${index}]` : 'input',
    });
  });
}

/** OpenAI's embeddings list, floats or little-endian base64 as the caller asked. */
export function embeddingList(
  request: EmbeddingsRequest,
  model: string,
  vectors: readonly (readonly number[])[],
  promptTokens: number,
): { body: string; usage: TokenUsage } {
  const data = vectors.map((vector, index) => ({
    object: 'embedding',
    index,
    embedding: request.encoding_format === 'base64' ? Buffer.from(Float32Array.from(vector).buffer).toString('base64') : vector,
  }));
  const usage = makeUsage(promptTokens, 0);
  return {
    body: JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }),
    usage,
  };
}
