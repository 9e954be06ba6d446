import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

type AnyAjv = Ajv | Ajv2019 | Ajv2020;
type AddFormats = (ajv: AnyAjv) => AnyAjv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as unknown as AddFormats;

/**
 * Ajv instances per JSON Schema dialect. No `loadSchema`: a remote `$ref` is never
 * fetched, so such a schema fails to compile and its tool is not offered.
 */
function makeAjv<T extends AnyAjv>(ajv: T): T {
  addFormats(ajv);
  return ajv;
}

const options = { strict: false, allErrors: true, validateSchema: false } as const;
let draft07: Ajv | undefined;
let draft2019: Ajv2019 | undefined;
let draft2020: Ajv2020 | undefined;

function ajvFor(schema: Record<string, unknown>): AnyAjv {
  const dialect = typeof schema['$schema'] === 'string' ? schema['$schema'] : '';
  if (/draft-0[467]/.test(dialect)) return (draft07 ??= makeAjv(new Ajv(options)));
  if (dialect.includes('2019-09')) return (draft2019 ??= makeAjv(new Ajv2019(options)));
  // MCP's default dialect (2025-11-25 on) is JSON Schema 2020-12.
  return (draft2020 ??= makeAjv(new Ajv2020(options)));
}

export type ArgumentValidator = (value: unknown) => string | undefined;

/** Compiles a tool's input schema once; the validator returns a readable error, or undefined when valid. */
export function compileArgumentValidator(schema: unknown): ArgumentValidator {
  const input = typeof schema === 'object' && schema !== null ? (schema as Record<string, unknown>) : { type: 'object' };
  const { $id: _id, ...withoutId } = input;
  const validate: ValidateFunction = ajvFor(withoutId).compile(withoutId);
  return (value) => {
    if (validate(value)) return undefined;
    return (validate.errors ?? [])
      .slice(0, 10)
      .map((error) => `${error.instancePath || '(arguments)'} ${error.message ?? 'is invalid'}`)
      .join('; ');
  };
}
