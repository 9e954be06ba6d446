import { Ajv } from 'ajv';
import { z } from 'zod';
import type { ChatRequest, EmbeddingsRequest } from '../providers/types.ts';
import { GatewayError } from '../server/errors.ts';

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;

const messageSchema = z.looseObject({
  role: z.enum(ROLES),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]).optional(),
  tool_call_id: z.string().optional(),
});

const toolSchema = z.looseObject({
  type: z.string(),
  function: z.looseObject({ name: z.string().min(1), parameters: z.record(z.string(), z.unknown()).optional() }).optional(),
});

/** Only what the gateway itself relies on; every other field is the upstream's to judge. */
const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  tools: z.array(toolSchema).optional(),
  n: z.int().min(1).max(128).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  max_tokens: z.int().positive().nullable().optional(),
  max_completion_tokens: z.int().positive().nullable().optional(),
});

const embeddingsRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1), z.array(z.int()).min(1), z.array(z.array(z.int()).min(1)).min(1)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.int().positive().optional(),
});

const checks = new Ajv({ strict: false, allErrors: false });

/**
 * A parser for a request schema with no transforms or defaults (its output equals its input).
 * Every request is checked by an ajv validator compiled from the schema's own JSON Schema:
 * generated code that reads the body without copying it, several times cheaper than a zod parse
 * on the hot path. Only a body it refuses goes through zod, for the exact message and param.
 */
export function requestParser<T>(schema: z.ZodType<T>): (body: unknown) => T {
  const valid = checks.compile(z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'throw' }));
  return (body) =>
    typeof body === 'object' && body !== null && !Array.isArray(body) && valid(body) ? (body as T) : parseWith(schema, body);
}

export const parseChatRequest = requestParser(chatRequestSchema) as (body: unknown) => ChatRequest;
export const parseEmbeddingsRequest = requestParser(embeddingsRequestSchema) as (body: unknown) => EmbeddingsRequest;

export function parseWith<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new GatewayError('invalid_request', 'The request body is invalid.');
  const param = issue.path
    .map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`))
    .join('');
  throw new GatewayError('invalid_request', describeIssue(issue, param, body), { param });
}

function describeIssue(issue: z.core.$ZodIssue, param: string, body: object): string {
  if (issue.code === 'invalid_type' && valueAt(body, issue.path) === undefined) return `Missing required parameter: '${param}'.`;
  if (issue.code === 'invalid_type')
    return `Invalid type for '${param}': expected ${issue.expected}, but got ${describeType(valueAt(body, issue.path))}.`;
  if (issue.code === 'invalid_value')
    return `Invalid value for '${param}': expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}.`;
  if (issue.code === 'too_small' && issue.origin === 'array')
    return `Invalid '${param}': expected an array with at least ${String(issue.minimum)} item(s).`;
  return `Invalid '${param}': ${issue.message}.`;
}

function valueAt(body: object, path: readonly PropertyKey[]): unknown {
  let value: unknown = body;
  for (const segment of path)
    value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[segment] : undefined;
  return value;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  // JSON has no infinity, but a literal past a double's range (1e400) parses to one.
  if (typeof value === 'number' && !Number.isFinite(value)) return 'a number too large to represent';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
