import { createHash } from 'node:crypto';
import { checkKnownParameters, fail, parseModel, type Validated } from './openai-validation.ts';
import { invalidRequest, invalidType, missingParameter } from './openai-errors.ts';
import { isJsonObject, type JsonObject, type OpenAIFixtures } from './openai-fixtures.ts';

const embeddingParameters = new Set(['input', 'model', 'dimensions', 'encoding_format', 'user']);

export const DEFAULT_EMBEDDING_DIMENSIONS = 8;

export interface EmbeddingRequest {
  model: string;
  /** Each input as text; token-id arrays are kept as their JSON. */
  inputs: string[];
  dimensions: number;
  encodingFormat: 'float' | 'base64';
}

const invalidInput = invalidRequest(
  "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
  null,
  null,
);

function parseInputs(input: unknown): Validated<string[]> {
  if (input === undefined) return fail(missingParameter('input'));
  if (typeof input === 'string') return input === '' ? fail(invalidInput) : { ok: true, value: [input] };
  if (!Array.isArray(input) || input.length === 0) return fail(invalidInput);
  if (input.every((item) => typeof item === 'number')) return { ok: true, value: [JSON.stringify(input)] };
  const inputs: string[] = [];
  for (const item of input) {
    if (typeof item === 'string' && item !== '') inputs.push(item);
    else if (Array.isArray(item) && item.length > 0 && item.every((t) => typeof t === 'number')) {
      inputs.push(JSON.stringify(item));
    } else return fail(invalidInput);
  }
  return { ok: true, value: inputs };
}

export function parseEmbeddingRequest(body: unknown): Validated<EmbeddingRequest> {
  if (!isJsonObject(body)) return fail(invalidType('body', 'an object', body));
  const unknownParameter = checkKnownParameters(body, embeddingParameters);
  if (unknownParameter) return fail(unknownParameter);
  const model = parseModel(body);
  if (!model.ok) return model;
  const inputs = parseInputs(body['input']);
  if (!inputs.ok) return inputs;

  const format = body['encoding_format'] ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return fail(
      invalidRequest(`Invalid value: '${String(format)}'. Supported values are: 'float' and 'base64'.`, 'encoding_format', 'invalid_value'),
    );
  }
  const dimensions = body['dimensions'] ?? DEFAULT_EMBEDDING_DIMENSIONS;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1) {
    return fail(invalidType('dimensions', 'an integer >= 1', dimensions));
  }
  return { ok: true, value: { model: model.value, inputs: inputs.value, dimensions, encodingFormat: format } };
}

/** A unit-length vector that depends only on the text, rounded to float32 like the real API's. */
export function embeddingVector(text: string, dimensions: number): Float32Array {
  const raw = new Float64Array(dimensions);
  let digest = Buffer.alloc(0);
  for (let i = 0; i < dimensions; i++) {
    const offset = (i * 4) % 32;
    if (offset === 0) digest = createHash('sha256').update(`${text}\u0000${i}`).digest();
    raw[i] = digest.readUInt32LE(offset) / 0x80000000 - 1;
  }
  const norm = Math.hypot(...raw) || 1;
  return Float32Array.from(raw, (value) => value / norm);
}

function encode(vector: Float32Array, format: 'float' | 'base64'): number[] | string {
  if (format === 'float') return Array.from(vector);
  // Float32Array uses the platform's byte order; OpenAI sends little-endian.
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}

export function buildEmbeddingList(fixtures: OpenAIFixtures, request: EmbeddingRequest): JsonObject {
  const prompt_tokens = request.inputs.reduce((sum, text) => sum + Math.max(1, Math.ceil(text.length / 4)), 0);
  return {
    ...fixtures.embeddingList,
    data: request.inputs.map((text, index) => ({
      object: 'embedding',
      index,
      embedding: encode(embeddingVector(text, request.dimensions), request.encodingFormat),
    })),
    model: request.model,
    usage: { prompt_tokens, total_tokens: prompt_tokens },
  };
}
