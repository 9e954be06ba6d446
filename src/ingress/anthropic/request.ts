import { z } from 'zod';
import type { ChatMessage, ChatRequest, ChatTool } from '../../providers/types.ts';
import { requestParser } from '../../pipeline/validate.ts';
import { GatewayError } from '../../server/errors.ts';
import { returnableThinkingBlocks } from '../../providers/anthropic/thinking.ts';
import { compact, isRecord } from '../../providers/translate/request-parts.ts';
import { fromAnthropicToolId } from './tool-ids.ts';

const blockSchema = z.looseObject({ type: z.string() });
const contentSchema = z.union([z.string(), z.array(blockSchema)]);

/** What the gateway relies on in a Messages request; an Anthropic upstream judges the rest itself. */
const messagesRequestSchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.int().positive(),
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content: contentSchema })).min(1),
  system: contentSchema.optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.int().nonnegative().optional(),
  stop_sequences: z.array(z.string()).optional(),
  tools: z.array(z.looseObject({ name: z.string().min(1) })).optional(),
  tool_choice: z.looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']), name: z.string().optional() }).optional(),
});

const countTokensSchema = messagesRequestSchema.omit({ max_tokens: true });

export type MessagesRequest = z.output<typeof messagesRequestSchema>;
export type CountTokensRequest = z.output<typeof countTokensSchema>;
type Block = z.output<typeof blockSchema>;

export const parseMessagesRequest: (body: unknown) => MessagesRequest = requestParser(messagesRequestSchema);

export const parseCountTokensRequest: (body: unknown) => CountTokensRequest = requestParser(countTokensSchema);

/** Fields that become part of the internal request (the service tier is Anthropic's own and changes no answer elsewhere). */
const TRANSLATED = new Set([
  'model',
  'max_tokens',
  'messages',
  'system',
  'stream',
  'temperature',
  'top_p',
  'top_k',
  'stop_sequences',
  'tools',
  'tool_choice',
  'metadata',
  'thinking',
  'service_tier',
]);

/**
 * Hints of a Messages request that not every provider has a part for: `top_k` (OpenAI's chat API
 * has none; Gemini's topK, Cohere's k, Bedrock's Claude models take it), the thinking budget as
 * `reasoning_effort` (Mistral and Bedrock's other models, among others, take none), the
 * `thinking` object itself, exact budget and all (Claude on Bedrock takes it; elsewhere the effort
 * stands for it), and the signed thinking blocks of earlier assistant turns as those messages'
 * `thinking_blocks` (Claude on Bedrock takes them back; OpenAI-format servers refuse the field).
 * Each is sent on to a provider that takes it, dropped for one that does not (see
 * `AttemptOptions.droppable`).
 */
export const DROPPABLE: ReadonlySet<string> = new Set(['top_k', 'reasoning_effort', 'thinking', 'thinking_blocks']);

/** Thinking budgets as the effort levels OpenAI-style providers take. */
function effortOf(thinking: unknown): string | undefined {
  if (!isRecord(thinking) || thinking['type'] !== 'enabled') return undefined;
  const budget = typeof thinking['budget_tokens'] === 'number' ? thinking['budget_tokens'] : 0;
  return budget <= 2048 ? 'low' : budget <= 8192 ? 'medium' : 'high';
}

/** The caller's `thinking` as it is, for a provider that takes Anthropic's own (thinking turned off needs no word). */
function thinkingOf(thinking: unknown): unknown {
  return isRecord(thinking) && thinking['type'] !== 'disabled' ? thinking : undefined;
}

/** A Messages request as the internal (OpenAI chat) request, for a provider that does not speak Messages. */
export function toChatRequest(request: CountTokensRequest & { max_tokens?: number }): ChatRequest {
  for (const [field, value] of Object.entries(request)) {
    if (value === undefined || TRANSLATED.has(field)) continue;
    throw new GatewayError('unsupported_parameter', `'${field}' needs an Anthropic model; this model's provider cannot honor it.`, {
      param: field,
    });
  }
  const parallel = request.tool_choice?.['disable_parallel_tool_use'] === true ? false : undefined;
  return compact({
    model: request.model,
    messages: [...systemMessages(request.system), ...request.messages.flatMap((message, index) => toMessages(message, index))],
    max_completion_tokens: request.max_tokens,
    stream: request.stream === true ? true : undefined,
    stream_options: request.stream === true ? { include_usage: true } : undefined,
    temperature: request.temperature,
    top_p: request.top_p,
    top_k: request.top_k,
    stop: request.stop_sequences,
    tools: request.tools?.map(toTool),
    tool_choice: toolChoiceOf(request.tool_choice),
    parallel_tool_calls: request.tools === undefined ? undefined : parallel,
    user: userOf(request),
    reasoning_effort: effortOf(request['thinking']),
    thinking: thinkingOf(request['thinking']),
  });
}

/** `metadata.user_id`, chat's `user`. */
function userOf(request: CountTokensRequest): string | undefined {
  const metadata = request['metadata'];
  return isRecord(metadata) && typeof metadata['user_id'] === 'string' ? metadata['user_id'] : undefined;
}

/**
 * What routing and the limits read of a request that cannot be translated (it is relayed to
 * Anthropic as it is), shaped as `toChatRequest` would shape it: the text of the system prompt
 * and messages (a text document's by its text), tool calls and results, the tools, the tokens
 * it reserves and its user. Blocks chat has no part for stay as they are, each counted by the
 * token estimate at a fixed amount.
 */
export function toChatView(request: CountTokensRequest & { max_tokens?: number }): ChatRequest {
  const system = request.system === undefined ? [] : [{ role: 'system', content: partsOf(request.system) }];
  return compact({
    model: request.model,
    messages: [...system, ...request.messages.map((message) => ({ role: message.role, content: partsOf(message.content) }))],
    max_completion_tokens: request.max_tokens,
    stream: request.stream === true ? true : undefined,
    tools: request.tools?.map((tool, index) =>
      tool['type'] === undefined || tool['type'] === 'custom' ? toTool(tool, index) : { ...tool, type: String(tool['type']) },
    ),
    user: userOf(request),
  });
}

function partsOf(content: string | readonly Block[]): unknown[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content.flatMap(blockParts);
}

function blockParts(block: Block): unknown[] {
  switch (block.type) {
    case 'thinking':
    case 'redacted_thinking':
      return []; // dropped over chat too
    case 'image':
      return [{ type: 'image_url' }];
    case 'tool_use':
    case 'server_tool_use':
    case 'mcp_tool_use':
      return [{ type: 'text', text: JSON.stringify(toolCallOf(block)) }];
  }
  if (typeof block['text'] === 'string') return [{ type: 'text', text: block['text'] }];
  const source = isRecord(block['source']) ? block['source'] : undefined;
  if (block.type === 'document' && source?.['type'] === 'text' && typeof source['data'] === 'string') {
    return [{ type: 'text', text: source['data'] }];
  }
  // A tool result's content, a search result's, a document's own blocks.
  const content = block.type === 'document' && source?.['type'] === 'content' ? source['content'] : block['content'];
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (Array.isArray(content)) return content.filter(isRecord).flatMap((part) => blockParts(part as Block));
  return block.type === 'tool_result' ? [] : [block];
}

function systemMessages(system: string | Block[] | undefined): ChatMessage[] {
  if (system === undefined) return [];
  const text = typeof system === 'string' ? system : system.map((block) => textIn(block, 'system')).join('\n');
  return text === '' ? [] : [{ role: 'system', content: text }];
}

function textIn(block: Block, where: string): string {
  if (block.type === 'text' && typeof block['text'] === 'string') return block['text'];
  throw new GatewayError('unsupported_parameter', `Blocks of type '${block.type}' in ${where} cannot be sent to this model's provider.`, {
    param: where,
  });
}

function toMessages(message: MessagesRequest['messages'][number], index: number): ChatMessage[] {
  const where = `messages[${index}].content`;
  if (typeof message.content === 'string') return [{ role: message.role, content: message.content }];
  return message.role === 'assistant' ? [assistantMessage(message.content, where)] : userMessages(message.content, where);
}

/** Thinking blocks become the message's `thinking_blocks`, those that can go back to Claude (signed, or redacted). */
function assistantMessage(blocks: readonly Block[], where: string): ChatMessage {
  let text = '';
  const toolCalls: unknown[] = [];
  const thinking: Block[] = [];
  for (const block of blocks) {
    if (block.type === 'text') text += textIn(block, where);
    else if (block.type === 'tool_use') toolCalls.push(toolCallOf(block));
    else if (block.type === 'thinking' || block.type === 'redacted_thinking') thinking.push(block);
    else textIn(block, where);
  }
  const thinkingBlocks = returnableThinkingBlocks(thinking);
  return compact({
    role: 'assistant',
    content: text === '' && toolCalls.length > 0 ? null : text,
    tool_calls: toolCalls.length > 0 ? toolCalls : undefined,
    thinking_blocks: thinkingBlocks.length > 0 ? thinkingBlocks : undefined,
  });
}

function toolCallOf(block: Block): unknown {
  return {
    id: fromAnthropicToolId(String(block['id'])),
    type: 'function',
    function: { name: String(block['name']), arguments: JSON.stringify(block['input'] ?? {}) },
  };
}

/** Tool results become tool messages, which must come first; the rest of the turn is one user message. */
function userMessages(blocks: readonly Block[], where: string): ChatMessage[] {
  const results: ChatMessage[] = [];
  const parts: unknown[] = [];
  for (const block of blocks) {
    if (block.type === 'tool_result')
      results.push({
        role: 'tool',
        tool_call_id: fromAnthropicToolId(String(block['tool_use_id'])),
        content: toolResultText(block, where),
      });
    else if (block.type === 'image') parts.push(imagePart(block, where));
    else parts.push({ type: 'text', text: textIn(block, where) });
  }
  return parts.length === 0 ? results : [...results, { role: 'user', content: parts }];
}

function toolResultText(block: Block, where: string): string {
  const content = block['content'];
  const text =
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content
            .filter(isRecord)
            .map((part) => textIn(part as Block, where))
            .join('')
        : '';
  return block['is_error'] === true ? `Error: ${text}` : text;
}

function imagePart(block: Block, where: string): unknown {
  const source = isRecord(block['source']) ? block['source'] : {};
  if (source['type'] === 'base64' && typeof source['media_type'] === 'string' && typeof source['data'] === 'string')
    return { type: 'image_url', image_url: { url: `data:${source['media_type']};base64,${source['data']}` } };
  if (source['type'] === 'url' && typeof source['url'] === 'string') return { type: 'image_url', image_url: { url: source['url'] } };
  throw new GatewayError('invalid_request', `An image block needs a base64 or url source.`, { param: where });
}

function toTool(tool: { name: string; [key: string]: unknown }, index: number): ChatTool {
  if (tool['type'] !== undefined && tool['type'] !== 'custom') {
    throw new GatewayError('unsupported_parameter', `Server tools ('${String(tool['type'])}') need an Anthropic model.`, {
      param: `tools[${index}].type`,
    });
  }
  const description = typeof tool['description'] === 'string' ? tool['description'] : undefined;
  return {
    type: 'function',
    function: compact({
      name: tool.name,
      description,
      parameters: isRecord(tool['input_schema']) ? tool['input_schema'] : { type: 'object', properties: {} },
    }),
  };
}

function toolChoiceOf(choice: MessagesRequest['tool_choice']): unknown {
  switch (choice?.type) {
    case undefined:
      return undefined;
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', function: { name: choice.name ?? '' } };
  }
}
