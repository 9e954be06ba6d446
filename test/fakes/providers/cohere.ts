import {
  isObject,
  randomId,
  readUserContent,
  unknownFields,
  type Dialect,
  type Plan,
  type RecordedCall,
  type Reply,
  type Turn,
} from './harness.ts';

export const COHERE_KEY = 'co-fake-valid-key';
const FIELDS = new Set([
  'model',
  'messages',
  'stream',
  'tools',
  'documents',
  'citation_options',
  'response_format',
  'safety_mode',
  'max_tokens',
  'stop_sequences',
  'temperature',
  'seed',
  'frequency_penalty',
  'presence_penalty',
  'k',
  'p',
  'logprobs',
  'tool_choice',
  'strict_tools',
  'thinking',
]);
const EMBED_FIELDS = new Set([
  'model',
  'texts',
  'images',
  'inputs',
  'input_type',
  'embedding_types',
  'output_dimension',
  'truncate',
  'max_tokens',
]);

const error = (status: number, message: string): Reply => ({ status, body: { id: randomId(8), message } });

function readMessages(messages: unknown, issued: ReadonlySet<string>) {
  if (!Array.isArray(messages) || messages.length === 0) return error(400, 'invalid request: messages must not be empty');
  let pending = new Set<string>();
  let last = { toolResults: [] as string[], userText: '', images: [] as string[] };
  for (const [index, message] of messages.entries()) {
    if (!isObject(message)) return error(400, `invalid request: messages[${index}] must be an object`);
    const role = message['role'];
    if (role === 'tool') {
      const id = String(message['tool_call_id']);
      if (!pending.delete(id) || !issued.has(id)) return error(400, `invalid request: tool_call_id ${id} does not match a tool call`);
      last.toolResults.push(String(message['content']));
      continue;
    }
    last = { toolResults: [], userText: '', images: [] };
    if (role === 'assistant') {
      const calls = Array.isArray(message['tool_calls']) ? message['tool_calls'].filter(isObject) : [];
      pending = new Set(calls.map((call) => String(call['id'])));
    } else if (role === 'user') {
      const problem = readUserContent(message['content'], last);
      if (problem) return error(400, `invalid request: ${problem}`);
    } else if (role !== 'system') return error(400, `invalid request: role must be one of system, user, assistant, tool`);
  }
  return last;
}

function parse(call: RecordedCall, issued: ReadonlySet<string>): Reply | Turn {
  if (call.path !== '/v2/chat') return error(404, `Not Found: ${call.path}`);
  const body = call.body;
  if (!isObject(body)) return error(400, 'invalid request: cannot parse body');
  const extra = unknownFields(body, FIELDS);
  if (extra) return error(400, `invalid request: unknown field "${extra}"`);
  if (typeof body['model'] !== 'string') return error(400, 'invalid request: model must be specified');
  if (body['tool_choice'] !== undefined && body['tool_choice'] !== 'REQUIRED' && body['tool_choice'] !== 'NONE') {
    return error(400, 'invalid request: tool_choice must be one of REQUIRED, NONE');
  }
  const read = readMessages(body['messages'], issued);
  if ('status' in read) return read;
  const tools = Array.isArray(body['tools'])
    ? body['tools'].filter(isObject).map((tool) => (isObject(tool['function']) ? tool['function'] : {}))
    : [];
  const format = isObject(body['response_format']) ? body['response_format'] : {};
  return {
    model: body['model'],
    stream: body['stream'] === true,
    tools: tools.map((tool) => ({ name: String(tool['name']), schema: isObject(tool['parameters']) ? tool['parameters'] : undefined })),
    jsonMode: format['type'] === 'json_object',
    jsonSchema: isObject(format['json_schema']) ? format['json_schema'] : undefined,
    ...read,
  };
}

const usage = {
  billed_units: { input_tokens: 12, output_tokens: 7 },
  tokens: { input_tokens: 507, output_tokens: 10 },
  cached_tokens: 448,
};
const finishOf = (plan: Plan): string => (plan.kind === 'tools' ? 'TOOL_CALL' : 'COMPLETE');
const sse = (event: Record<string, unknown>): string => `event: ${String(event['type'])}\ndata: ${JSON.stringify(event)}\n\n`;

export const cohereDialect: Dialect = {
  authenticate: (call) => (call.headers['authorization'] === `Bearer ${COHERE_KEY}` ? undefined : error(401, 'invalid api token')),
  parse,
  newToolId: (name) => `${name}_${randomId(12, 'abcdefghijklmnopqrstuvwxyz0123456789')}`,
  reply(_turn, plan) {
    const message =
      plan.kind === 'text'
        ? { role: 'assistant', content: [{ type: 'text', text: plan.pieces.join('') }] }
        : {
            role: 'assistant',
            tool_plan: 'I will call the tools.',
            tool_calls: plan.calls.map((call) => ({
              id: call.id,
              type: 'function',
              function: { name: call.name, arguments: JSON.stringify(call.args) },
            })),
          };
    return { status: 200, body: { id: randomId(16), message, finish_reason: finishOf(plan), usage } };
  },
  stream(_turn, plan) {
    const frames = [
      sse({
        id: randomId(16),
        type: 'message-start',
        delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } },
      }),
    ];
    if (plan.kind === 'text') {
      frames.push(sse({ type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } }));
      for (const text of plan.pieces) frames.push(sse({ type: 'content-delta', index: 0, delta: { message: { content: { text } } } }));
      frames.push(sse({ type: 'content-end', index: 0 }));
    } else {
      frames.push(sse({ type: 'tool-plan-delta', delta: { message: { tool_plan: 'I will call the tools.' } } }));
      plan.calls.forEach((call, index) => {
        frames.push(
          sse({
            type: 'tool-call-start',
            index,
            delta: { message: { tool_calls: { id: call.id, type: 'function', function: { name: call.name, arguments: '' } } } },
          }),
        );
        const json = JSON.stringify(call.args);
        for (const part of [json.slice(0, 3), json.slice(3)])
          frames.push(sse({ type: 'tool-call-delta', index, delta: { message: { tool_calls: { function: { arguments: part } } } } }));
        frames.push(sse({ type: 'tool-call-end', index }));
      });
    }
    frames.push(sse({ type: 'message-end', delta: { finish_reason: finishOf(plan), usage } }));
    return { contentType: 'text/event-stream', frames };
  },
  error(scenario) {
    switch (scenario) {
      case 'context':
        return error(
          400,
          'too many tokens: total number of tokens in the prompt cannot exceed 128000 - received 130000. Try using a shorter prompt',
        );
      case 'rate_limit':
        return error(429, 'You are using a Trial key, which is limited to 20 API calls / minute.');
      case 'overloaded':
        return error(503, 'service unavailable');
      case 'server':
        return error(500, 'internal server error, this has been reported to our developers');
    }
  },
  embed(call) {
    if (call.path !== '/v2/embed') return undefined;
    const body = isObject(call.body) ? call.body : {};
    const extra = unknownFields(body, EMBED_FIELDS);
    if (extra) return error(400, `invalid request: unknown field "${extra}"`);
    if (typeof body['input_type'] !== 'string')
      return error(400, 'invalid request: input_type is required for embed models v3 and higher.');
    const texts = Array.isArray(body['texts']) ? body['texts'] : [];
    return {
      status: 200,
      body: {
        id: 'e',
        texts,
        embeddings: { float: texts.map((_text, index) => [index, 0.25]) },
        meta: { api_version: { version: '2' }, billed_units: { input_tokens: 10 } },
        response_type: 'embeddings_by_type',
      },
    };
  },
};
