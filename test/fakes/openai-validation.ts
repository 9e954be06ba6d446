import { invalidType, missingParameter, unrecognizedArgument, type OpenAIError } from './openai-errors.ts';
import type { JsonObject } from './openai-fixtures.ts';

export type Validated<T> = { ok: true; value: T } | { ok: false; error: OpenAIError };

export function fail(error: OpenAIError): { ok: false; error: OpenAIError } {
  return { ok: false, error };
}

export function checkKnownParameters(body: JsonObject, known: ReadonlySet<string>): OpenAIError | undefined {
  const unknown = Object.keys(body).find((key) => !known.has(key));
  return unknown === undefined ? undefined : unrecognizedArgument(unknown);
}

export function parseModel(body: JsonObject): Validated<string> {
  const model = body['model'];
  if (model === undefined) return fail(missingParameter('model'));
  if (typeof model !== 'string') return fail(invalidType('model', 'a string', model));
  return { ok: true, value: model };
}
