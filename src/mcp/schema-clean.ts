/**
 * Tool input schemas as each kind of provider accepts them. Only what the model sees is
 * cleaned: arguments are still validated against the server's original schema.
 */
export type SchemaProfile = 'openai' | 'gemini';

type Schema = Record<string, unknown>;

/** Keywords OpenAI's strict function mode rejects, or that carry nothing for a model. */
const OPENAI_DROPPED = new Set([
  '$schema',
  '$id',
  '$comment',
  'default',
  'examples',
  'patternProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
  'dependentRequired',
  'dependentSchemas',
  'dependencies',
  'if',
  'then',
  'else',
  'not',
  'contains',
  'minContains',
  'maxContains',
  'minProperties',
  'maxProperties',
]);

/** The OpenAPI 3.0 subset Gemini's function declarations accept; everything else is dropped. */
const GEMINI_KEPT = new Set([
  'type',
  'format',
  'description',
  'nullable',
  'enum',
  'properties',
  'required',
  'items',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'anyOf',
  'propertyOrdering',
]);

export function schemaProfileFor(providerType: string): SchemaProfile {
  return providerType === 'gemini' || providerType === 'vertex' || providerType === 'google' ? 'gemini' : 'openai';
}

export function cleanSchema(schema: unknown, profile: SchemaProfile): Schema {
  if (!isSchema(schema)) return { type: 'object', properties: {} };
  const cleaned = profile === 'gemini' ? cleanGemini(inlineRefs(schema, schema, 0)) : cleanOpenAI(schema);
  if (cleaned['type'] === undefined) cleaned['type'] = 'object';
  if (cleaned['type'] === 'object' && cleaned['properties'] === undefined) cleaned['properties'] = {};
  return cleaned;
}

function cleanOpenAI(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (OPENAI_DROPPED.has(key)) continue;
    out[key] = cleanChildren(key, value, cleanOpenAI);
  }
  return out;
}

function cleanGemini(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'const') out['enum'] = [value];
    else if (key === 'oneOf') out['anyOf'] = cleanChildren(key, value, cleanGemini);
    else if (key === 'type' && Array.isArray(value)) {
      const types = value.filter((type) => type !== 'null');
      if (types.length < value.length) out['nullable'] = true;
      out['type'] = types[0] ?? 'string';
    } else if (GEMINI_KEPT.has(key)) out[key] = cleanChildren(key, value, cleanGemini);
  }
  if (Array.isArray(out['enum'])) out['enum'] = out['enum'].map(String);
  return out;
}

/** Recurses into the keywords that hold schemas; every other value is copied as is. */
function cleanChildren(key: string, value: unknown, clean: (schema: Schema) => Schema): unknown {
  if ((key === 'properties' || key === '$defs' || key === 'definitions') && isSchema(value)) {
    return Object.fromEntries(Object.entries(value).map(([name, child]) => [name, isSchema(child) ? clean(child) : child]));
  }
  if ((key === 'anyOf' || key === 'oneOf' || key === 'allOf' || key === 'prefixItems') && Array.isArray(value)) {
    return value.map((child: unknown) => (isSchema(child) ? clean(child) : child));
  }
  if ((key === 'items' || key === 'additionalProperties') && isSchema(value)) return clean(value);
  return value;
}

/** Gemini has no $ref: local references are inlined (bounded, so recursive schemas end). */
function inlineRefs(schema: Schema, root: Schema, depth: number): Schema {
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const target = depth < 8 ? resolveLocal(root, ref) : undefined;
    const { $ref: _ref, ...rest } = schema;
    return target === undefined ? { ...rest, type: rest['type'] ?? 'object' } : inlineRefs({ ...target, ...rest }, root, depth + 1);
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = cleanChildren(key, value, (child) => inlineRefs(child, root, depth));
  }
  return out;
}

function resolveLocal(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const segment of ref.slice(2).split('/')) {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~');
    node = isSchema(node) ? node[key] : undefined;
  }
  return isSchema(node) ? node : undefined;
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
