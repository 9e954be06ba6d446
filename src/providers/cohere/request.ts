import type { ChatMessage, ChatRequest } from '../types.ts';
import {
  checkSupportedFields,
  compact,
  contentParts,
  maxTokensOf,
  numberField,
  responseFormatOf,
  stopSequencesOf,
  textOf,
  toolCallsOf,
  toolChoiceOf,
  unsupported,
} from '../translate/request-parts.ts';

/** The request fields the provider takes beyond those every provider reads. */
export const COHERE_FIELDS: ReadonlySet<string> = new Set([
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'stop',
  'seed',
  'frequency_penalty',
  'presence_penalty',
]);

/** Cohere's v2 chat: OpenAI-like messages, but its own names for sampling, tool choice and JSON mode. */
export function toCohereRequest(request: ChatRequest, model: string): Record<string, unknown> {
  checkSupportedFields(request, 'cohere', COHERE_FIELDS);
  const format = responseFormatOf(request);
  return compact({
    model,
    messages: request.messages.map(toMessage),
    stream: request.stream === true ? true : undefined,
    max_tokens: maxTokensOf(request),
    temperature: numberField(request, 'temperature'),
    p: numberField(request, 'top_p'),
    k: numberField(request, 'top_k'),
    seed: numberField(request, 'seed'),
    stop_sequences: stopSequencesOf(request),
    frequency_penalty: numberField(request, 'frequency_penalty'),
    presence_penalty: numberField(request, 'presence_penalty'),
    response_format:
      format === undefined ? undefined : { type: 'json_object', ...(format.type === 'json_schema' ? { json_schema: format.schema } : {}) },
    ...toolsOf(request),
  });
}

function toolsOf(request: ChatRequest): Record<string, unknown> {
  if (!request.tools || request.tools.length === 0) return {};
  const tools = request.tools.map((tool, index) => {
    if (tool.type !== 'function' || !tool.function) throw unsupported('cohere', `tools of type '${tool.type}'`, `tools[${index}].type`);
    return { type: 'function', function: compact({ ...tool.function }) };
  });
  const choice = toolChoiceOf(request);
  if (typeof choice === 'object') throw unsupported('cohere', 'forcing one named tool (tool_choice with a function)', 'tool_choice');
  const toolChoice = choice === 'required' ? 'REQUIRED' : choice === 'none' ? 'NONE' : undefined;
  return compact({ tools, tool_choice: toolChoice });
}

function toMessage(message: ChatMessage): Record<string, unknown> {
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textOf(message.content) };
    case 'user': {
      const parts = contentParts(message.content);
      const content = parts.every((part) => part.type === 'text')
        ? textOf(message.content)
        : parts.map((part) =>
            part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image_url', image_url: { url: part.url } },
          );
      return { role: 'user', content };
    }
    case 'assistant': {
      const calls = toolCallsOf(message);
      const text = textOf(message.content);
      const plan = typeof message['reasoning_content'] === 'string' ? message['reasoning_content'] : undefined;
      return compact({
        role: 'assistant',
        content: text === '' ? undefined : text,
        tool_plan: calls.length > 0 ? plan : undefined,
        tool_calls:
          calls.length > 0
            ? calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }))
            : undefined,
      });
    }
    default:
      return { role: 'tool', tool_call_id: message.tool_call_id ?? '', content: textOf(message.content) };
  }
}
