import { invalidRequest, invalidType, missingParameter, type OpenAIError } from './openai-errors.ts';
import { isJsonObject, type JsonObject } from './openai-fixtures.ts';
import { checkKnownParameters, fail, parseModel, type Validated } from './openai-validation.ts';

const chatCompletionParameters = new Set([
  'model',
  'messages',
  'audio',
  'frequency_penalty',
  'function_call',
  'functions',
  'logit_bias',
  'logprobs',
  'max_completion_tokens',
  'max_tokens',
  'metadata',
  'modalities',
  'n',
  'parallel_tool_calls',
  'prediction',
  'presence_penalty',
  'prompt_cache_key',
  'reasoning_effort',
  'response_format',
  'safety_identifier',
  'seed',
  'service_tier',
  'stop',
  'store',
  'stream',
  'stream_options',
  'temperature',
  'tool_choice',
  'tools',
  'top_logprobs',
  'top_p',
  'user',
  'verbosity',
  'web_search_options',
]);

const messageRoles = ['system', 'assistant', 'user', 'function', 'tool', 'developer'];

export interface ChatTool {
  name: string;
  parameters: JsonObject | undefined;
}

export interface ChatRequest {
  model: string;
  messages: JsonObject[];
  stream: boolean;
  includeUsage: boolean;
  includeObfuscation: boolean;
  tools: ChatTool[];
  /** The tool the model must call, or undefined when it answers in text. */
  toolToCall: ChatTool | undefined;
}

export function parseChatRequest(body: unknown): Validated<ChatRequest> {
  if (!isJsonObject(body)) return fail(invalidType('body', 'an object', body));
  const unknownParameter = checkKnownParameters(body, chatCompletionParameters);
  if (unknownParameter) return fail(unknownParameter);
  const model = parseModel(body);
  if (!model.ok) return model;

  const messages = body['messages'];
  if (messages === undefined) return fail(missingParameter('messages'));
  if (!Array.isArray(messages)) return fail(invalidType('messages', 'an array', messages));
  if (messages.length === 0) {
    return fail(
      invalidRequest(
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        'messages',
        'empty_array',
      ),
    );
  }
  const messageProblem = checkMessages(messages);
  if (messageProblem) return fail(messageProblem);
  const checkedMessages = messages.filter(isJsonObject);

  const stream = body['stream'] === true;
  const streamOptions = body['stream_options'];
  if (streamOptions !== undefined && streamOptions !== null && !stream) {
    return fail(invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', null));
  }

  const tools = parseTools(body['tools']);
  if (!tools.ok) return tools;
  const toolChoice = body['tool_choice'];
  if (toolChoice !== undefined && tools.value.length === 0) {
    return fail(
      invalidRequest("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice', null),
    );
  }

  return {
    ok: true,
    value: {
      model: model.value,
      messages: checkedMessages,
      stream,
      includeUsage: isJsonObject(streamOptions) && streamOptions['include_usage'] === true,
      includeObfuscation: !(isJsonObject(streamOptions) && streamOptions['include_obfuscation'] === false),
      tools: tools.value,
      toolToCall: chooseTool(tools.value, toolChoice, checkedMessages),
    },
  };
}

function checkMessages(messages: unknown[]): OpenAIError | undefined {
  // Ids of the latest assistant tool calls still waiting for their tool message.
  let pendingToolCallIds: Set<string> | undefined;
  let pendingSince = 0;

  for (const [index, message] of messages.entries()) {
    if (!isJsonObject(message)) return invalidType(`messages[${index}]`, 'an object', message);
    const role = message['role'];
    if (role === undefined) return missingParameter(`messages[${index}].role`);
    if (typeof role !== 'string' || !messageRoles.includes(role)) {
      return invalidRequest(
        `Invalid value: '${String(role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
        `messages[${index}].role`,
        'invalid_value',
      );
    }
    if (role !== 'assistant' && message['content'] === undefined) {
      return missingParameter(`messages[${index}].content`);
    }

    if (role === 'tool') {
      const toolCallId = message['tool_call_id'];
      if (pendingToolCallIds === undefined) {
        return invalidRequest(
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          `messages.[${index}].role`,
          null,
        );
      }
      if (typeof toolCallId !== 'string') return missingParameter(`messages[${index}].tool_call_id`);
      if (!pendingToolCallIds.delete(toolCallId)) {
        return invalidRequest(
          `Invalid parameter: 'tool_call_id' of '${toolCallId}' not found in 'tool_calls' of previous message.`,
          `messages.[${index}].tool_call_id`,
          null,
        );
      }
      continue;
    }

    const unanswered = unansweredToolCalls(pendingToolCallIds, pendingSince);
    if (unanswered) return unanswered;
    pendingToolCallIds = undefined;

    const toolCalls = message['tool_calls'];
    if (role === 'assistant' && Array.isArray(toolCalls) && toolCalls.length > 0) {
      pendingToolCallIds = new Set(
        toolCalls.flatMap((call: unknown) => (isJsonObject(call) && typeof call['id'] === 'string' ? [call['id']] : [])),
      );
      pendingSince = index;
    }
  }
  return unansweredToolCalls(pendingToolCallIds, pendingSince);
}

function unansweredToolCalls(pending: Set<string> | undefined, assistantIndex: number): OpenAIError | undefined {
  if (pending === undefined || pending.size === 0) return undefined;
  return invalidRequest(
    `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`,
    `messages.[${assistantIndex}].role`,
    null,
  );
}

function parseTools(tools: unknown): Validated<ChatTool[]> {
  if (tools === undefined || tools === null) return { ok: true, value: [] };
  if (!Array.isArray(tools)) return fail(invalidType('tools', 'an array', tools));
  const parsed: ChatTool[] = [];
  for (const [index, tool] of tools.entries()) {
    if (!isJsonObject(tool)) return fail(invalidType(`tools[${index}]`, 'an object', tool));
    if (tool['type'] !== 'function') {
      return fail(
        invalidRequest(
          `Invalid value: '${String(tool['type'])}'. Supported values are: 'function' and 'custom'.`,
          `tools[${index}].type`,
          'invalid_value',
        ),
      );
    }
    const fn = tool['function'];
    if (!isJsonObject(fn)) return fail(missingParameter(`tools[${index}].function`));
    if (typeof fn['name'] !== 'string') return fail(missingParameter(`tools[${index}].function.name`));
    const parameters = fn['parameters'];
    parsed.push({ name: fn['name'], parameters: isJsonObject(parameters) ? parameters : undefined });
  }
  return { ok: true, value: parsed };
}

function chooseTool(tools: ChatTool[], toolChoice: unknown, messages: JsonObject[]): ChatTool | undefined {
  if (tools.length === 0 || toolChoice === 'none') return undefined;
  if (messages.at(-1)?.['role'] === 'tool') return undefined;
  if (isJsonObject(toolChoice) && isJsonObject(toolChoice['function'])) {
    const wanted = toolChoice['function']['name'];
    return tools.find((tool) => tool.name === wanted) ?? tools[0];
  }
  return tools[0];
}
