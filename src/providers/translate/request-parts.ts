import { GatewayError } from '../../server/errors.ts';
import type { ChatMessage, ChatRequest } from '../types.ts';

/** A message content part, provider-neutral. */
export type ContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image'; readonly url: string; readonly data?: { readonly mediaType: string; readonly base64: string } };

export interface ToolCallIn {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { readonly name: string };

export type ResponseFormat =
  | { readonly type: 'json_object' }
  | { readonly type: 'json_schema'; readonly name: string; readonly schema: Record<string, unknown>; readonly strict: boolean };

/**
 * Fields every translating provider reads itself. Anything else the caller sends must be in the
 * provider's own list, or be harmless to drop, or the request is refused naming the field.
 */
const HANDLED = new Set(['model', 'messages', 'stream', 'stream_options', 'tools', 'tool_choice', 'response_format']);
/** Dropped where the provider has no equivalent: they do not change the answer (`seed` is best-effort even at OpenAI). */
const HARMLESS = new Set([
  'user',
  'metadata',
  'store',
  'parallel_tool_calls',
  'service_tier',
  'prompt_cache_key',
  'safety_identifier',
  'seed',
]);

export function checkSupportedFields(request: ChatRequest, provider: string, supported: ReadonlySet<string>): void {
  for (const [field, value] of Object.entries(request)) {
    if (value === null || value === undefined || HANDLED.has(field) || HARMLESS.has(field) || supported.has(field)) continue;
    if (field === 'n' && value === 1) continue;
    throw new GatewayError('unsupported_parameter', `The ${provider} provider cannot honor '${field}'; remove it or pick another model.`, {
      param: field,
    });
  }
}

export function unsupported(provider: string, what: string, param: string): GatewayError {
  return new GatewayError('unsupported_parameter', `The ${provider} provider does not support ${what}.`, { param });
}

export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: unknown) => (isRecord(part) && typeof part['text'] === 'string' ? part['text'] : '')).join('');
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

export function contentParts(content: unknown): ContentPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const parts: ContentPart[] = [];
  for (const [index, part] of content.entries()) {
    if (!isRecord(part)) continue;
    if (part['type'] === 'text' && typeof part['text'] === 'string') parts.push({ type: 'text', text: part['text'] });
    else if (part['type'] === 'image_url') {
      const image = part['image_url'];
      const url = typeof image === 'string' ? image : isRecord(image) && typeof image['url'] === 'string' ? image['url'] : undefined;
      if (url === undefined)
        throw new GatewayError('invalid_request', 'An image_url part needs image_url.url.', { param: `content[${index}]` });
      const match = DATA_URL.exec(url);
      parts.push(
        match?.[1] && match[2] !== undefined
          ? { type: 'image', url, data: { mediaType: match[1], base64: match[2] } }
          : { type: 'image', url },
      );
    } else {
      throw new GatewayError('unsupported_parameter', `Content parts of type '${String(part['type'])}' cannot be sent to this provider.`, {
        param: `content[${index}].type`,
      });
    }
  }
  return parts;
}

export function toolCallsOf(message: ChatMessage): ToolCallIn[] {
  if (!Array.isArray(message.tool_calls)) return [];
  return message.tool_calls.flatMap((call: unknown) => {
    if (!isRecord(call) || !isRecord(call['function'])) return [];
    const fn = call['function'];
    return [
      {
        id: typeof call['id'] === 'string' ? call['id'] : '',
        name: typeof fn['name'] === 'string' ? fn['name'] : '',
        arguments: typeof fn['arguments'] === 'string' ? fn['arguments'] : JSON.stringify(fn['arguments'] ?? {}),
      },
    ];
  });
}

/** Tool-call arguments as an object, for providers that take them parsed. */
export function parseArguments(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : { value };
  } catch {
    throw new GatewayError('invalid_request', `Tool-call arguments are not valid JSON: ${text.slice(0, 100)}`, { param: 'messages' });
  }
}

export function toolChoiceOf(request: ChatRequest): ToolChoice | undefined {
  const choice = request.tool_choice;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isRecord(choice) && isRecord(choice['function']) && typeof choice['function']['name'] === 'string')
    return { name: choice['function']['name'] };
  if (choice === undefined || choice === null) return undefined;
  throw new GatewayError('invalid_request', "Invalid 'tool_choice': expected 'auto', 'none', 'required' or a function.", {
    param: 'tool_choice',
  });
}

export function responseFormatOf(request: ChatRequest): ResponseFormat | undefined {
  const format = request['response_format'];
  if (!isRecord(format) || format['type'] === 'text') return undefined;
  if (format['type'] === 'json_object') return { type: 'json_object' };
  const schema = format['json_schema'];
  if (format['type'] === 'json_schema' && isRecord(schema) && isRecord(schema['schema'])) {
    return {
      type: 'json_schema',
      name: typeof schema['name'] === 'string' ? schema['name'] : 'response',
      schema: schema['schema'],
      strict: schema['strict'] === true,
    };
  }
  throw new GatewayError('invalid_request', "Invalid 'response_format': expected text, json_object or json_schema with a schema.", {
    param: 'response_format',
  });
}

export function maxTokensOf(request: ChatRequest): number | undefined {
  const value = request['max_completion_tokens'] ?? request['max_tokens'];
  return typeof value === 'number' ? value : undefined;
}

export function stopSequencesOf(request: ChatRequest): string[] | undefined {
  const stop = request['stop'];
  if (typeof stop === 'string') return [stop];
  return Array.isArray(stop) ? stop.filter((item): item is string => typeof item === 'string') : undefined;
}

export function numberField(request: ChatRequest, field: string): number | undefined {
  const value = request[field];
  return typeof value === 'number' ? value : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** System and developer messages joined, in order. */
export function systemTextOf(messages: readonly ChatMessage[]): string | undefined {
  const texts = messages
    .filter((message) => message.role === 'system' || message.role === 'developer')
    .map((message) => textOf(message.content));
  return texts.length > 0 ? texts.join('\n\n') : undefined;
}

/** Drops undefined values so upstream bodies carry only what was asked for. */
export function compact<T extends Record<string, unknown>>(object: T): T {
  for (const key of Object.keys(object)) if (object[key] === undefined) delete object[key];
  return object;
}

/**
 * Conversation turns for providers that want roles to alternate (Anthropic, Bedrock, Gemini):
 * blocks for the same role as the last turn join it (parallel tool results become one turn).
 */
export class AlternatingTurns<Role extends string, Block> {
  readonly turns: { role: Role; blocks: Block[] }[] = [];

  add(role: Role, blocks: Block[]): void {
    if (blocks.length === 0) return;
    const last = this.turns.at(-1);
    if (last?.role === role) last.blocks.push(...blocks);
    else this.turns.push({ role, blocks });
  }
}
