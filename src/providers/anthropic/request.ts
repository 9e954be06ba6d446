import type { ChatMessage, ChatRequest } from '../types.ts';
import { defaultMaxTokens, returnableThinkingBlocks, thinkingBudgetFor } from './thinking.ts';
import {
  checkSupportedFields,
  compact,
  contentParts,
  maxTokensOf,
  numberField,
  parseArguments,
  responseFormatOf,
  stopSequencesOf,
  systemTextOf,
  textOf,
  toolCallsOf,
  toolChoiceOf,
  unsupported,
  type ContentPart,
  AlternatingTurns,
} from '../translate/request-parts.ts';

/** The request fields the provider takes beyond those every provider reads. */
export const ANTHROPIC_FIELDS: ReadonlySet<string> = new Set([
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'reasoning_effort',
  'top_k',
]);

/** The droppable fields (`AttemptOptions.droppable`) Anthropic takes: its request fields, and the thinking blocks of earlier turns. */
export const ANTHROPIC_ACCEPTED: ReadonlySet<string> = new Set([...ANTHROPIC_FIELDS, 'thinking_blocks']);

/** The tool JSON mode is answered through; its input comes back as the message text. */
export const JSON_TOOL = 'json';

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/** Anthropic tool ids must match ^[a-zA-Z0-9_-]+$; ids from other providers are made to fit, the same way each turn. */
export function anthropicToolId(id: string): string {
  return id.replace(/[^a-zA-Z0-9_-]/g, '_') || 'toolu_missing';
}

export function toAnthropicRequest(request: ChatRequest, model: string): Record<string, unknown> {
  checkSupportedFields(request, 'anthropic', ANTHROPIC_FIELDS);
  const format = responseFormatOf(request);
  const hasTools = (request.tools?.length ?? 0) > 0;
  if (format && hasTools) throw unsupported('anthropic', 'response_format together with tools', 'response_format');
  const budget = thinkingBudgetFor(request);
  const maxTokens = maxTokensOf(request) ?? defaultMaxTokens(budget);
  const user = request['user'];
  return compact({
    model,
    max_tokens: maxTokens,
    system: systemTextOf(request.messages),
    messages: toMessages(request.messages),
    stream: request.stream === true ? true : undefined,
    temperature: numberField(request, 'temperature'),
    top_p: numberField(request, 'top_p'),
    top_k: numberField(request, 'top_k'),
    stop_sequences: stopSequencesOf(request),
    metadata: typeof user === 'string' ? { user_id: user } : undefined,
    thinking: budget === undefined ? undefined : { type: 'enabled', budget_tokens: budget },
    ...(format ? jsonModeTool(format) : toolsOf(request)),
  });
}

function jsonModeTool(format: NonNullable<ReturnType<typeof responseFormatOf>>): Record<string, unknown> {
  const schema = format.type === 'json_schema' ? format.schema : { type: 'object', additionalProperties: true };
  return {
    tools: [{ name: JSON_TOOL, description: 'Respond with a JSON object.', input_schema: schema }],
    tool_choice: { type: 'tool', name: JSON_TOOL },
  };
}

function toolsOf(request: ChatRequest): Record<string, unknown> {
  const tools = request.tools?.map((tool, index) => {
    if (tool.type !== 'function' || !tool.function) throw unsupported('anthropic', `tools of type '${tool.type}'`, `tools[${index}].type`);
    return compact({
      name: tool.function.name,
      description: tool.function.description,
      input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
    });
  });
  const choice = toolChoiceOf(request);
  if (tools === undefined || tools.length === 0) return {};
  const parallel = request['parallel_tool_calls'] === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined || choice === 'auto') {
    // Anthropic takes disable_parallel_tool_use only inside tool_choice: an `auto` one carries it.
    return choice === undefined && request['parallel_tool_calls'] !== false
      ? { tools }
      : { tools, tool_choice: { type: 'auto', ...parallel } };
  }
  if (choice === 'none') return { tools, tool_choice: { type: 'none' } };
  if (choice === 'required') return { tools, tool_choice: { type: 'any', ...parallel } };
  return { tools, tool_choice: { type: 'tool', name: choice.name, ...parallel } };
}

function toMessages(messages: readonly ChatMessage[]): AnthropicMessage[] {
  const turns = new AlternatingTurns<AnthropicMessage['role'], Block>();
  for (const message of messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        break;
      case 'user':
        turns.add('user', contentParts(message.content).map(toBlock));
        break;
      case 'assistant': {
        // Signed reasoning from an earlier answer goes back first, as Anthropic requires after tool use.
        const thinking = returnableThinkingBlocks(message['thinking_blocks']);
        const text = textOf(message.content);
        const calls = toolCallsOf(message).map((call) => ({
          type: 'tool_use',
          id: anthropicToolId(call.id),
          name: call.name,
          input: parseArguments(call.arguments),
        }));
        turns.add('assistant', [...thinking, ...(text ? [{ type: 'text', text }] : []), ...calls]);
        break;
      }
      case 'tool':
      case 'function':
        turns.add('user', [
          { type: 'tool_result', tool_use_id: anthropicToolId(message.tool_call_id ?? ''), content: textOf(message.content) },
        ]);
        break;
    }
  }
  return turns.turns.map(({ role, blocks }) => ({ role, content: blocks }));
}

function toBlock(part: ContentPart): Block {
  if (part.type === 'text') return { type: 'text', text: part.text };
  if (part.data) return { type: 'image', source: { type: 'base64', media_type: part.data.mediaType, data: part.data.base64 } };
  return { type: 'image', source: { type: 'url', url: part.url } };
}
