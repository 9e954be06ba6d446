import { z } from 'zod';
import { parseWith } from '../../pipeline/validate.ts';
import { compact, isRecord } from '../../providers/translate/request-parts.ts';
import type { ChatMessage, ChatRequest, ChatTool } from '../../providers/types.ts';
import { GatewayError } from '../../server/errors.ts';
import { toChatMessages, type Item } from './items.ts';

/** What the gateway relies on in a Responses request; an upstream that speaks Responses judges the rest. */
const createSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.looseObject({}))]),
  instructions: z.string().nullable().optional(),
  previous_response_id: z.string().min(1).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  store: z.boolean().nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  tool_choice: z.union([z.enum(['auto', 'none', 'required']), z.looseObject({ type: z.string() })]).optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  max_output_tokens: z.int().min(16).nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});

export type CreateResponse = z.output<typeof createSchema>;

export function parseCreateResponse(body: unknown): CreateResponse {
  return parseWith(createSchema, body);
}

/** Read and echoed by the adaptation; these change nothing for a chat upstream or mean what they say there. */
const ADAPTED = new Set([
  'model',
  'input',
  'instructions',
  'previous_response_id',
  'stream',
  'stream_options',
  'store',
  'tools',
  'tool_choice',
  'temperature',
  'top_p',
  'max_output_tokens',
  'metadata',
  'parallel_tool_calls',
  'text',
  'reasoning',
  'user',
  'truncation',
  'service_tier',
  'prompt_cache_key',
  'safety_identifier',
  'include',
]);

/**
 * Hints of a Responses request that not every chat provider has a part for: `reasoning.effort`, as
 * `reasoning_effort` (Mistral, and Bedrock models other than Claude, among others, take none), and
 * Claude's thinking blocks from the reasoning items of earlier turns, as the assistant messages'
 * `thinking_blocks` (Claude, on Anthropic or Bedrock, takes them back). Sent on to a provider that
 * takes them, dropped for one that does not (see `AttemptOptions.droppable`).
 */
export const DROPPABLE: ReadonlySet<string> = new Set(['reasoning_effort', 'thinking_blocks']);

/** A Responses request (with the conversation so far) as the internal chat request, for a provider without Responses. */
export function toChatRequest(request: CreateResponse, conversation: readonly Item[]): ChatRequest {
  for (const [field, value] of Object.entries(request)) {
    if (value === null || value === undefined || ADAPTED.has(field)) continue;
    if (field === 'background' && value === false) continue;
    throw new GatewayError('unsupported_parameter', `'${field}' needs a model served by OpenAI's Responses API.`, { param: field });
  }
  const reasoning = request['reasoning'];
  const effort = isRecord(reasoning) && typeof reasoning['effort'] === 'string' ? reasoning['effort'] : undefined;
  const instructions = request.instructions ? [{ role: 'system', content: request.instructions }] : [];
  return compact({
    model: request.model,
    messages: [...instructions, ...toChatMessages(conversation)],
    stream: request.stream === true ? true : undefined,
    stream_options: request.stream === true ? { include_usage: true } : undefined,
    tools: request.tools?.map(toTool),
    tool_choice: toolChoiceOf(request.tool_choice),
    parallel_tool_calls: typeof request['parallel_tool_calls'] === 'boolean' && request.tools ? request['parallel_tool_calls'] : undefined,
    temperature: request.temperature ?? undefined,
    top_p: request.top_p ?? undefined,
    max_completion_tokens: request.max_output_tokens ?? undefined,
    response_format: responseFormatOf(request['text']),
    reasoning_effort: effort,
    user: typeof request['user'] === 'string' ? request['user'] : undefined,
  });
}

/**
 * What routing and the limits read of a request that cannot be adapted (it is relayed as it is),
 * shaped as `toChatRequest` would shape it: the text of the instructions and items, function
 * calls and outputs, the tools, the tokens it reserves and its user. Parts and items chat has
 * no equivalent for stay as they are, each counted by the token estimate at a fixed amount.
 */
export function toChatView(request: CreateResponse, conversation: readonly Item[]): ChatRequest {
  const instructions = request.instructions ? [{ role: 'system', content: request.instructions }] : [];
  return compact({
    model: request.model,
    messages: [...instructions, ...conversation.flatMap(itemView)],
    stream: request.stream === true ? true : undefined,
    tools: request.tools?.map((tool, index) => (tool.type === 'function' ? toTool(tool, index) : tool)),
    max_completion_tokens: request.max_output_tokens ?? undefined,
    user: typeof request['user'] === 'string' ? request['user'] : undefined,
  });
}

function itemView(item: Item): ChatMessage[] {
  switch (item['type']) {
    case 'message': {
      const role = item['role'] === 'assistant' ? 'assistant' : item['role'] === 'user' ? 'user' : 'system';
      return [{ role, content: partsView(item['content']) }];
    }
    case 'function_call': {
      const call = {
        id: String(item['call_id']),
        type: 'function',
        function: { name: String(item['name']), arguments: String(item['arguments'] ?? '') },
      };
      return [{ role: 'assistant', content: null, tool_calls: [call] }];
    }
    case 'function_call_output':
      return [{ role: 'tool', tool_call_id: String(item['call_id']), content: partsView(item['output']) }];
    case 'reasoning':
      return []; // dropped over chat too
    default:
      return [{ role: 'user', content: [item] }];
  }
}

function partsView(content: unknown): unknown[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  return content.filter(isRecord).map((part) => {
    if (typeof part['text'] === 'string') return { type: 'text', text: part['text'] };
    if (part['type'] === 'refusal' && typeof part['refusal'] === 'string') return { type: 'text', text: part['refusal'] };
    return part['type'] === 'input_image' ? { type: 'image_url' } : part;
  });
}

function toTool(tool: { type: string; [key: string]: unknown }, index: number): ChatTool {
  if (tool.type !== 'function') {
    throw new GatewayError('unsupported_parameter', `Tools of type '${tool.type}' need a model served by OpenAI's Responses API.`, {
      param: `tools[${index}].type`,
    });
  }
  return {
    type: 'function',
    function: compact({
      name: String(tool['name']),
      description: typeof tool['description'] === 'string' ? tool['description'] : undefined,
      parameters: isRecord(tool['parameters']) ? tool['parameters'] : { type: 'object', properties: {} },
      strict: typeof tool['strict'] === 'boolean' ? tool['strict'] : undefined,
    }),
  };
}

function toolChoiceOf(choice: CreateResponse['tool_choice']): unknown {
  if (choice === undefined || typeof choice === 'string') return choice;
  if (choice.type === 'function' && typeof choice['name'] === 'string') return { type: 'function', function: { name: choice['name'] } };
  throw new GatewayError('unsupported_parameter', `tool_choice of type '${choice.type}' needs OpenAI's Responses API.`, {
    param: 'tool_choice',
  });
}

/** `text.format` as chat's `response_format`. */
function responseFormatOf(text: unknown): unknown {
  const format = isRecord(text) ? text['format'] : undefined;
  if (!isRecord(format) || format['type'] === 'text') return undefined;
  if (format['type'] === 'json_object') return { type: 'json_object' };
  if (format['type'] === 'json_schema') {
    return {
      type: 'json_schema',
      json_schema: compact({ name: format['name'] ?? 'response', schema: format['schema'], strict: format['strict'] ?? undefined }),
    };
  }
  throw new GatewayError('invalid_request', `Invalid 'text.format.type': '${String(format['type'])}'.`, { param: 'text.format.type' });
}
