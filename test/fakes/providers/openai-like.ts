import {
  isObject,
  randomId,
  readUserContent,
  type Dialect,
  type ErrorScenario,
  type Plan,
  type RecordedCall,
  type Reply,
  type Turn,
} from './harness.ts';

/** How one OpenAI-like API differs from OpenAI, as seen from its wire. */
export interface OpenAILikeOptions {
  readonly name: string;
  /** Where chat completions are served; the first capture, when present, is the model (Azure's deployment). */
  readonly chatPath: RegExp;
  readonly embeddingsPath?: RegExp;
  readonly authorized: (call: RecordedCall) => boolean;
  readonly authError: Reply;
  readonly fields: ReadonlySet<string>;
  readonly unknownField: (field: string) => Reply;
  /** The API's own checks of a known field's value for the model (Mistral takes `reasoning_effort` on a few models only). */
  readonly checkFields?: (body: Record<string, unknown>, model: string) => Reply | undefined;
  readonly toolId: () => string;
  /** Tool-call ids the API accepts back (Mistral: 9 alphanumerics). */
  readonly toolIdPattern?: RegExp;
  /** Mistral streams each call whole, without `index` or `type`. */
  readonly wholeToolCalls?: boolean;
  /** Groq's older streams report usage in `x_groq` only. */
  readonly usageInXGroq?: boolean;
  readonly reasoning?: boolean;
  readonly errors: Record<ErrorScenario, Reply>;
}

export const OPENAI_FIELDS = [
  'model',
  'messages',
  'stream',
  'stream_options',
  'tools',
  'tool_choice',
  'response_format',
  'max_tokens',
  'temperature',
  'top_p',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'n',
  'user',
  'parallel_tool_calls',
];

export function openAIError(
  status: number,
  message: string,
  type: string,
  code: string | null = null,
  headers?: Record<string, string>,
): Reply {
  return { status, body: { error: { message, type, param: null, code } }, ...(headers ? { headers } : {}) };
}

const invalid = (message: string): Reply => openAIError(400, message, 'invalid_request_error');

function readMessages(messages: unknown, issued: ReadonlySet<string>, options: OpenAILikeOptions) {
  if (!Array.isArray(messages) || messages.length === 0) return invalid("'messages' must contain at least one message");
  let pending = new Set<string>();
  let last = { toolResults: [] as string[], userText: '', images: [] as string[] };
  for (const [index, message] of messages.entries()) {
    if (!isObject(message)) return invalid(`messages[${index}] must be an object`);
    const role = message['role'];
    if (role !== 'tool') {
      if (pending.size > 0) return invalid(`tool_call_ids did not have response messages: ${[...pending].join(', ')}`);
      last = { toolResults: [], userText: '', images: [] };
    }
    if (role === 'tool') {
      const id = String(message['tool_call_id']);
      if (options.toolIdPattern && !options.toolIdPattern.test(id))
        return invalid(`Tool call id was ${id} but must be a-z, A-Z, 0-9, with a length of 9.`);
      if (!pending.delete(id) || !issued.has(id)) return invalid(`Unexpected tool call id ${id} in tool results`);
      last.toolResults.push(String(message['content']));
    } else if (role === 'assistant') {
      const calls = Array.isArray(message['tool_calls']) ? message['tool_calls'].filter(isObject) : [];
      pending = new Set(calls.map((call) => String(call['id'])));
    } else if (role === 'user' || role === 'system') {
      const problem = readUserContent(message['content'], last);
      if (problem) return invalid(`messages[${index}].content: ${problem}`);
      if (role === 'system') last.userText = '';
    } else return invalid(`messages[${index}].role: '${String(role)}' is not one of system, user, assistant, tool`);
  }
  return last;
}

function parse(options: OpenAILikeOptions, call: RecordedCall, issued: ReadonlySet<string>): Reply | Turn {
  const match = options.chatPath.exec(call.path);
  if (!match) return openAIError(404, `Unknown path ${call.path}`, 'invalid_request_error');
  const body = call.body;
  if (!isObject(body)) return invalid('We could not parse the JSON body of your request.');
  const extra = Object.keys(body).find((key) => !options.fields.has(key));
  if (extra) return options.unknownField(extra);
  const model = match[1] ?? body['model'];
  if (typeof model !== 'string') return invalid('you must provide a model parameter');
  const refused = options.checkFields?.(body, model);
  if (refused) return refused;
  const read = readMessages(body['messages'], issued, options);
  if ('status' in read) return read;
  const tools = Array.isArray(body['tools'])
    ? body['tools'].filter(isObject).map((tool) => (isObject(tool['function']) ? tool['function'] : {}))
    : [];
  const choice = body['tool_choice'];
  const format = isObject(body['response_format']) ? body['response_format'] : {};
  const schema = isObject(format['json_schema']) ? format['json_schema']['schema'] : undefined;
  return {
    model: decodeURIComponent(model),
    stream: body['stream'] === true,
    tools: tools.map((tool) => ({ name: String(tool['name']), schema: isObject(tool['parameters']) ? tool['parameters'] : undefined })),
    forcedTool: isObject(choice) && isObject(choice['function']) ? String(choice['function']['name']) : undefined,
    jsonMode: format['type'] === 'json_object' || format['type'] === 'json_schema',
    jsonSchema: isObject(schema) ? schema : undefined,
    ...read,
  };
}

const usage = { prompt_tokens: 17, completion_tokens: 6, total_tokens: 23 };

function toolCalls(plan: Plan, options: OpenAILikeOptions): Record<string, unknown>[] {
  if (plan.kind !== 'tools') return [];
  return plan.calls.map((call) => ({
    id: call.id,
    ...(options.wholeToolCalls ? {} : { type: 'function' }),
    function: { name: call.name, arguments: JSON.stringify(call.args) },
  }));
}

function chunk(turn: Turn, delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}): string {
  const body = {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1,
    model: turn.model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...extra,
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

export function openAILikeDialect(options: OpenAILikeOptions): Dialect {
  return {
    authenticate: (call) => (options.authorized(call) ? undefined : options.authError),
    parse: (call, issued) => parse(options, call, issued),
    newToolId: options.toolId,
    reply(turn, plan) {
      const calls = toolCalls(plan, options);
      const message = {
        role: 'assistant',
        content: plan.kind === 'text' ? plan.pieces.join('') : '',
        ...(options.reasoning ? { reasoning_content: 'Thinking it over.' } : {}),
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      };
      const finish = plan.kind === 'tools' ? 'tool_calls' : 'stop';
      return {
        status: 200,
        body: {
          id: 'chatcmpl-fake',
          object: 'chat.completion',
          created: 1,
          model: turn.model,
          choices: [{ index: 0, message, finish_reason: finish }],
          usage,
        },
      };
    },
    stream(turn, plan) {
      const frames = [chunk(turn, { role: 'assistant', content: '' }, null)];
      if (options.reasoning) frames.push(chunk(turn, { content: null, reasoning_content: 'Thinking.' }, null));
      const finish = plan.kind === 'tools' ? 'tool_calls' : 'stop';
      const usageFields = options.usageInXGroq ? { x_groq: { id: 'req_fake', usage } } : { usage };
      if (plan.kind === 'text') for (const piece of plan.pieces) frames.push(chunk(turn, { content: piece }, null));
      else if (options.wholeToolCalls) {
        frames.push(chunk(turn, { content: null, tool_calls: toolCalls(plan, options) }, finish, usageFields));
        return { contentType: 'text/event-stream', frames: [...frames, 'data: [DONE]\n\n'] };
      } else {
        plan.calls.forEach((call, index) => {
          frames.push(
            chunk(turn, { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }, null),
          );
          const json = JSON.stringify(call.args);
          for (const part of [json.slice(0, 4), json.slice(4)])
            frames.push(chunk(turn, { tool_calls: [{ index, function: { arguments: part } }] }, null));
        });
      }
      frames.push(chunk(turn, {}, finish, usageFields), 'data: [DONE]\n\n');
      return { contentType: 'text/event-stream', frames };
    },
    error: (scenario) => options.errors[scenario],
    embed(call) {
      if (!options.embeddingsPath?.test(call.path)) return undefined;
      const input = isObject(call.body) ? call.body['input'] : undefined;
      const inputs = Array.isArray(input) ? input : [input];
      return {
        status: 200,
        body: {
          object: 'list',
          data: inputs.map((_text, index) => ({ object: 'embedding', index, embedding: [index, 0.5] })),
          model: 'embed',
          usage: { prompt_tokens: 4, total_tokens: 4 },
        },
      };
    },
  };
}

const bearer = (key: string) => (call: RecordedCall) => call.headers['authorization'] === `Bearer ${key}`;
const standardErrors = (retryAfter: string): Record<ErrorScenario, Reply> => ({
  context: openAIError(
    400,
    "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
    'invalid_request_error',
    'context_length_exceeded',
  ),
  rate_limit: openAIError(429, 'Rate limit reached for requests. Please try again in 3s.', 'requests', 'rate_limit_exceeded', {
    'retry-after': retryAfter,
  }),
  overloaded: openAIError(503, 'The service is over capacity. Please try again later.', 'server_error', 'service_unavailable'),
  server: openAIError(500, 'The server had an error while processing your request.', 'server_error'),
});

export const FAKE_KEY = 'fake-provider-valid-key';

export const groqDialect = openAILikeDialect({
  name: 'groq',
  chatPath: /^\/openai\/v1\/chat\/completions$/,
  authorized: bearer(FAKE_KEY),
  authError: openAIError(401, 'Invalid API Key', 'invalid_request_error', 'invalid_api_key'),
  fields: new Set([...OPENAI_FIELDS, 'max_completion_tokens', 'reasoning_effort', 'reasoning_format', 'service_tier']),
  unknownField: (field) => openAIError(400, `property '${field}' is unsupported`, 'invalid_request_error'),
  toolId: () => randomId(9, 'abcdefghijklmnopqrstuvwxyz0123456789'),
  usageInXGroq: true,
  errors: standardErrors('3'),
});

export const deepseekDialect = openAILikeDialect({
  name: 'deepseek',
  chatPath: /^\/v1\/chat\/completions$/,
  authorized: bearer(FAKE_KEY),
  authError: openAIError(401, 'Authentication Fails, Your api key: ****rong is invalid', 'authentication_error', 'invalid_request_error'),
  fields: new Set(
    OPENAI_FIELDS.filter((field) => field !== 'seed' && field !== 'n' && field !== 'user' && field !== 'parallel_tool_calls').concat([
      'logprobs',
      'top_logprobs',
      // Thinking effort (low and high; minimal, medium and xhigh are taken as the nearest), and the thinking toggle.
      'reasoning_effort',
      'thinking',
    ]),
  ),
  unknownField: (field) => openAIError(400, `Unknown parameter: ${field}`, 'invalid_request_error'),
  toolId: () => `call_00_${randomId(24)}`,
  reasoning: true,
  errors: standardErrors('2'),
});

export const xaiDialect = openAILikeDialect({
  name: 'xai',
  chatPath: /^\/v1\/chat\/completions$/,
  authorized: bearer(FAKE_KEY),
  authError: openAIError(401, 'Incorrect API key provided: xa***ng.', 'invalid_request_error', 'invalid_api_key'),
  fields: new Set([...OPENAI_FIELDS, 'max_completion_tokens', 'logprobs', 'top_logprobs', 'reasoning_effort']),
  unknownField: (field) => openAIError(400, `Argument not supported: ${field}`, 'invalid_request_error'),
  toolId: () => `call_${randomId(24)}`,
  errors: standardErrors('4'),
});

export const AZURE_API_VERSION = '2024-10-21';
/** The access token the fake Entra ID endpoint issues, and the fake Azure accepts as a bearer. */
export const AZURE_ENTRA_TOKEN = 'fake-entra-access-token';

export const azureDialect = openAILikeDialect({
  name: 'azure-openai',
  chatPath: new RegExp(`^/openai/deployments/([^/]+)/chat/completions\\?api-version=${AZURE_API_VERSION}$`),
  embeddingsPath: new RegExp(`^/openai/deployments/([^/]+)/embeddings\\?api-version=${AZURE_API_VERSION}$`),
  authorized: (call) => call.headers['api-key'] === FAKE_KEY || call.headers['authorization'] === `Bearer ${AZURE_ENTRA_TOKEN}`,
  authError: openAIError(401, 'Access denied due to invalid subscription key or wrong API endpoint.', 'invalid_request_error', '401'),
  fields: new Set([
    ...OPENAI_FIELDS,
    'max_completion_tokens',
    'logprobs',
    'top_logprobs',
    'logit_bias',
    'store',
    'metadata',
    'reasoning_effort',
  ]),
  unknownField: (field) => openAIError(400, `Unrecognized request argument supplied: ${field}`, 'invalid_request_error'),
  toolId: () => `call_${randomId(24)}`,
  errors: standardErrors('5'),
});

const mistralError = (
  status: number,
  message: string,
  type: string,
  code: string | null = null,
  headers?: Record<string, string>,
): Reply => ({
  status,
  body: { object: 'error', message, type, param: null, code },
  ...(headers ? { headers } : {}),
});

/** Mistral knows `reasoning_effort`, but only Mistral Small 4 takes it, as `none` or `high`; other models refuse it. */
function mistralReasoningEffort(body: Record<string, unknown>, model: string): Reply | undefined {
  const effort = body['reasoning_effort'];
  if (effort === undefined || (model.startsWith('mistral-small') && (effort === 'none' || effort === 'high'))) return undefined;
  const message = model.startsWith('mistral-small')
    ? `reasoning_effort='${String(effort)}' is not supported for this model. Must be one of (<ReasoningEffort.none: 'none'>, <ReasoningEffort.high: 'high'>)`
    : 'reasoning_effort is not supported for this model';
  return mistralError(400, message, 'invalid_request_invalid_args', '3051');
}

export const mistralDialect = openAILikeDialect({
  name: 'mistral',
  chatPath: /^\/v1\/chat\/completions$/,
  authorized: bearer(FAKE_KEY),
  authError: { status: 401, body: { detail: 'Unauthorized' } },
  fields: new Set([
    ...OPENAI_FIELDS.filter((field) => field !== 'seed' && field !== 'user' && field !== 'stream_options'),
    'random_seed',
    'safe_prompt',
    'prediction',
    'reasoning_effort',
  ]),
  checkFields: mistralReasoningEffort,
  unknownField: (field) => ({
    status: 422,
    body: {
      object: 'error',
      message: { detail: [{ type: 'extra_forbidden', loc: ['body', field], msg: 'Extra inputs are not permitted', input: null }] },
      type: 'invalid_request_message_error',
      param: null,
      code: null,
    },
  }),
  toolId: () => randomId(9),
  toolIdPattern: /^[a-zA-Z0-9]{9}$/,
  wholeToolCalls: true,
  errors: {
    context: mistralError(
      400,
      'Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length',
      'invalid_request_error',
      '3051',
    ),
    rate_limit: mistralError(429, 'Requests rate limit exceeded', 'rate_limited', '1300', { 'retry-after': '6' }),
    overloaded: mistralError(503, 'Service unavailable: the model is overloaded', 'service_unavailable'),
    server: mistralError(500, 'Internal server error', 'internal_server_error'),
  },
});
