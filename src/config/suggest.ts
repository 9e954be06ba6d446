import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';

/** The closest candidate when it is plausibly a typo of `input`, else undefined. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(input, candidates as string[]);
  const limit = Math.max(2, Math.floor(best.length / 3));
  return distance(input.toLowerCase(), best.toLowerCase()) <= limit ? best : undefined;
}

/** Every candidate within a typo's distance, nearest first (for "did you mean" lists). */
export function closeMatches(input: string, candidates: Iterable<string>, most = 5): string[] {
  const scored: Array<[string, number]> = [];
  const needle = input.toLowerCase();
  for (const candidate of candidates) {
    const haystack = candidate.toLowerCase();
    const score = haystack.includes(needle) || needle.includes(haystack) ? 0 : distance(needle, haystack);
    if (score <= Math.max(2, Math.floor(needle.length / 3))) scored.push([candidate, score]);
  }
  return scored
    .toSorted((a, b) => a[1] - b[1])
    .slice(0, most)
    .map(([candidate]) => candidate);
}

type AnySchema = z.core.$ZodType;

/**
 * The keys a strict object accepts at `path` of the config schema, choosing union
 * branches by the data actually there (a provider's `type` picks its own fields).
 */
export function knownKeysAt(schema: AnySchema, path: ReadonlyArray<PropertyKey>, data: unknown): string[] {
  let current: AnySchema | undefined = schema;
  let value = data;
  for (const segment of [...path, undefined]) {
    current = current === undefined ? undefined : unwrap(current, value);
    if (current === undefined) return [];
    if (segment === undefined) break;
    const def: z.core.$ZodTypeDef = current._zod.def;
    if (def.type === 'object') current = (def as z.core.$ZodObjectDef).shape[String(segment)];
    else if (def.type === 'record') current = (def as z.core.$ZodRecordDef).valueType;
    else if (def.type === 'array') current = (def as z.core.$ZodArrayDef).element;
    else return [];
    value = isRecord(value) ? value[String(segment)] : undefined;
  }
  const def = current?._zod.def;
  return def?.type === 'object' ? Object.keys((def as z.core.$ZodObjectDef).shape) : [];
}

function unwrap(schema: AnySchema, value: unknown): AnySchema | undefined {
  let current = schema;
  for (;;) {
    const def = current._zod.def;
    if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable') {
      current = (def as z.core.$ZodDefaultDef).innerType;
    } else if (def.type === 'pipe') {
      current = (def as z.core.$ZodPipeDef).in;
    } else if (def.type === 'union') {
      const options = (def as z.core.$ZodUnionDef).options;
      const objects = options.filter((option) => option._zod.def.type === 'object');
      const matching = objects.find((option) => matchesDiscriminator(option, value));
      const chosen = matching ?? objects[0];
      if (chosen === undefined) return undefined;
      current = chosen;
    } else {
      return current;
    }
  }
}

/** Discriminator keys of the config's unions: a provider's `type`, a model's `strategy`. */
const DISCRIMINATORS = ['type', 'strategy'];

function matchesDiscriminator(option: AnySchema, value: unknown): boolean {
  const shape = (option._zod.def as z.core.$ZodObjectDef).shape;
  if (!isRecord(value)) return false;
  return DISCRIMINATORS.some((key) => {
    let field = shape[key]?._zod.def;
    if (field?.type === 'optional') field = (field as z.core.$ZodOptionalDef).innerType._zod.def;
    if (field?.type !== 'literal' || value[key] === undefined) return false;
    return (field as z.core.$ZodLiteralDef<z.core.util.Literal>).values.includes(value[key] as z.core.util.Literal);
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
