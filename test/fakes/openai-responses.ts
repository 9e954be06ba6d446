import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { contentText, exampleArguments, randomAlphanumeric, splitArguments, splitIntoPieces } from './openai-chat-response.ts';
import { invalidRequest, invalidType, missingParameter, openAIError, type OpenAIError } from './openai-errors.ts';
import { isJsonObject, type JsonObject } from './openai-fixtures.ts';
import { openAIHeaders, sendError, sendJson } from './openai-http.ts';
import { fail, parseModel, type Validated } from './openai-validation.ts';
import { halfOf, STREAM_ERROR, type StreamCut } from './upstream-faults.ts';

/** The Responses API as OpenAI validates and answers it, with its own store for previous_response_id, GET and DELETE. */
const PARAMETERS = new Set([
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
  'max_tool_calls',
  'metadata',
  'parallel_tool_calls',
  'text',
  'reasoning',
  'user',
  'truncation',
  'service_tier',
  'include',
  'background',
  'prompt_cache_key',
  'safety_identifier',
  'top_logprobs',
  'conversation',
  'prompt',
]);
const USER_PARTS = new Set(['input_text', 'input_image', 'input_file']);
const ASSISTANT_PARTS = new Set(['output_text', 'refusal']);
const ITEM_TYPES = new Set(['message', 'function_call', 'function_call_output', 'reasoning', 'item_reference']);

interface Stored {
  readonly response: JsonObject;
  readonly inputItems: JsonObject[];
  /** Its stream's events, for GET with `stream=true`. */
  readonly events: JsonObject[];
}

export type ResponsesStore = Map<string, Stored>;

const hexId = (prefix: string): string => `${prefix}_${randomBytes(20).toString('hex')}`;
const unknownParameter = (name: string): OpenAIError =>
  openAIError(400, `Unknown parameter: '${name}'.`, { param: name, code: 'unknown_parameter' });
const notFound = (id: string): OpenAIError => openAIError(404, `Response with id '${id}' not found.`, { param: 'response_id' });

interface Request {
  readonly body: JsonObject;
  readonly model: string;
  readonly stream: boolean;
  readonly inputItems: JsonObject[];
  readonly conversation: JsonObject[];
  readonly tools: JsonObject[];
}

function checkItem(item: unknown, index: number, callIds: Set<string>, store: ResponsesStore): OpenAIError | undefined {
  if (!isJsonObject(item)) return invalidType(`input[${index}]`, 'an object', item);
  const type = item['type'] ?? 'message';
  if (typeof type !== 'string' || !ITEM_TYPES.has(type))
    return invalidRequest(`Invalid value: '${String(type)}'.`, `input[${index}].type`, 'invalid_value');
  if (type === 'reasoning') return checkReasoning(item, index, store);
  if (type === 'function_call') {
    if (typeof item['call_id'] !== 'string') return missingParameter(`input[${index}].call_id`);
    callIds.add(item['call_id']);
  }
  if (type === 'function_call_output' && !callIds.has(String(item['call_id']))) {
    return invalidRequest(`No tool call found for function call output with call_id ${String(item['call_id'])}.`, 'input', null);
  }
  if (type !== 'message') return undefined;
  const role = item['role'];
  if (!['user', 'assistant', 'system', 'developer'].includes(String(role))) {
    return invalidRequest(
      `Invalid value: '${String(role)}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.`,
      `input[${index}].role`,
      'invalid_value',
    );
  }
  const content = item['content'];
  if (typeof content === 'string') return undefined;
  if (!Array.isArray(content)) return invalidType(`input[${index}].content`, 'a string or an array', content);
  const allowed = role === 'assistant' ? ASSISTANT_PARTS : USER_PARTS;
  for (const [partIndex, part] of content.entries()) {
    const partType = isJsonObject(part) ? String(part['type']) : typeof part;
    if (!allowed.has(partType)) {
      const supported = role === 'assistant' ? "'output_text' and 'refusal'" : "'input_text', 'input_image', and 'input_file'";
      return invalidRequest(
        `Invalid value: '${partType}'. Supported values are: ${supported}.`,
        `input[${index}].content[${partIndex}]`,
        'invalid_value',
      );
    }
  }
  return undefined;
}

/**
 * OpenAI takes back only the reasoning items it issued: by id, from a response it stored, or with
 * encrypted content it can decrypt (this fake issues none); any other it refuses with a 400.
 */
function checkReasoning(item: JsonObject, index: number, store: ResponsesStore): OpenAIError | undefined {
  const id = item['id'];
  if (typeof id !== 'string') return missingParameter(`input[${index}].id`);
  if (item['encrypted_content'] !== undefined && item['encrypted_content'] !== null) {
    return invalidRequest(
      `The encrypted content for item input[${index}] could not be verified.`,
      `input[${index}].encrypted_content`,
      'invalid_encrypted_content',
    );
  }
  const issued = [...store.values()].some((stored) => (stored.response['output'] as JsonObject[]).some((out) => out['id'] === id));
  if (issued) return undefined;
  return invalidRequest(
    `Item with id '${id}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`,
    'input',
    null,
  );
}

function normalize(input: unknown): JsonObject[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  return (input as JsonObject[]).map((item) => ({
    id: hexId(item['type'] === 'function_call_output' ? 'fco' : 'msg'),
    type: 'message',
    ...item,
  }));
}

function parse(body: unknown, store: ResponsesStore): Validated<Request> {
  if (!isJsonObject(body)) return fail(invalidType('body', 'an object', body));
  const unknown = Object.keys(body).find((key) => !PARAMETERS.has(key));
  if (unknown !== undefined) return fail(unknownParameter(unknown));
  const model = parseModel(body);
  if (!model.ok) return model;
  const input = body['input'];
  if (input === undefined) return fail(missingParameter('input'));
  if (typeof input !== 'string' && !Array.isArray(input)) return fail(invalidType('input', 'a string or an array', input));
  const previousId = body['previous_response_id'];
  const previous = typeof previousId === 'string' ? store.get(previousId) : undefined;
  if (typeof previousId === 'string' && previous === undefined) {
    return fail(
      invalidRequest(`Previous response with id '${previousId}' not found.`, 'previous_response_id', 'previous_response_not_found'),
    );
  }
  const history = previous ? [...previous.inputItems, ...(previous.response['output'] as JsonObject[])] : [];
  const callIds = new Set(history.flatMap((item) => (item['type'] === 'function_call' ? [String(item['call_id'])] : [])));
  const items = Array.isArray(input) ? input : [];
  for (const [index, item] of items.entries()) {
    const problem = checkItem(item, index, callIds, store);
    if (problem) return fail(problem);
  }
  const inputItems = normalize(input);
  const tools = Array.isArray(body['tools']) ? body['tools'].filter(isJsonObject) : [];
  for (const [index, tool] of tools.entries()) {
    if (tool['type'] === 'function' && typeof tool['name'] !== 'string') return fail(missingParameter(`tools[${index}].name`));
  }
  return {
    ok: true,
    value: { body, model: model.value, stream: body['stream'] === true, inputItems, conversation: [...history, ...inputItems], tools },
  };
}

type Plan = { kind: 'text'; pieces: string[] } | { kind: 'call'; name: string; callId: string; fragments: string[] };

function plan(request: Request): Plan {
  const last = request.conversation.at(-1);
  if (last?.['type'] === 'function_call_output')
    return { kind: 'text', pieces: splitIntoPieces(`Tool result: ${contentText(last['output'])}`) };
  const tool = request.tools.find((candidate) => candidate['type'] === 'function');
  if (tool && request.body['tool_choice'] !== 'none') {
    const args = JSON.stringify(exampleArguments(isJsonObject(tool['parameters']) ? tool['parameters'] : undefined));
    return { kind: 'call', name: String(tool['name']), callId: `call_${randomAlphanumeric(24)}`, fragments: splitArguments(args) };
  }
  const lastUser = request.conversation.findLast((item) => item['role'] === 'user');
  return { kind: 'text', pieces: splitIntoPieces(`You said: ${contentText(lastUser?.['content'])}`) };
}

function responseObject(request: Request, id: string, status: string, output: JsonObject[], usage: JsonObject | null): JsonObject {
  const { body } = request;
  return {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body['instructions'] ?? null,
    max_output_tokens: body['max_output_tokens'] ?? null,
    model: `${request.model}-2025-04-14`,
    output,
    parallel_tool_calls: true,
    previous_response_id: body['previous_response_id'] ?? null,
    reasoning: { effort: null, summary: null },
    store: body['store'] ?? true,
    temperature: body['temperature'] ?? 1,
    text: body['text'] ?? { format: { type: 'text' } },
    tool_choice: body['tool_choice'] ?? 'auto',
    tools: request.tools,
    top_p: body['top_p'] ?? 1,
    truncation: 'disabled',
    usage,
    user: null,
    metadata: body['metadata'] ?? {},
  };
}

function usageOf(request: Request, answer: Plan): JsonObject {
  const input = Math.ceil(JSON.stringify(request.conversation).length / 16);
  const output = answer.kind === 'text' ? answer.pieces.length : answer.fragments.length + 5;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}

function outputItem(answer: Plan, itemId: string, done: boolean): JsonObject {
  if (answer.kind === 'text') {
    const content = done ? [{ type: 'output_text', text: answer.pieces.join(''), annotations: [], logprobs: [] }] : [];
    return { id: itemId, type: 'message', status: done ? 'completed' : 'in_progress', role: 'assistant', content };
  }
  const args = done ? answer.fragments.join('') : '';
  return {
    id: itemId,
    type: 'function_call',
    status: done ? 'completed' : 'in_progress',
    arguments: args,
    call_id: answer.callId,
    name: answer.name,
  };
}

/** The documented event sequence, every event numbered. */
function events(request: Request, id: string, answer: Plan, usage: JsonObject): JsonObject[] {
  const itemId = hexId(answer.kind === 'text' ? 'msg' : 'fc');
  const list: JsonObject[] = [];
  const created = responseObject(request, id, 'in_progress', [], null);
  list.push({ type: 'response.created', response: created }, { type: 'response.in_progress', response: created });
  list.push({ type: 'response.output_item.added', output_index: 0, item: outputItem(answer, itemId, false) });
  const at = { item_id: itemId, output_index: 0 };
  if (answer.kind === 'text') {
    const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
    const text = answer.pieces.join('');
    list.push({ type: 'response.content_part.added', ...at, content_index: 0, part });
    for (const piece of answer.pieces)
      list.push({ type: 'response.output_text.delta', ...at, content_index: 0, delta: piece, logprobs: [] });
    list.push({ type: 'response.output_text.done', ...at, content_index: 0, text, logprobs: [] });
    list.push({ type: 'response.content_part.done', ...at, content_index: 0, part: { ...part, text } });
  } else {
    for (const fragment of answer.fragments) list.push({ type: 'response.function_call_arguments.delta', ...at, delta: fragment });
    list.push({ type: 'response.function_call_arguments.done', ...at, arguments: answer.fragments.join('') });
  }
  const done = outputItem(answer, itemId, true);
  list.push({ type: 'response.output_item.done', output_index: 0, item: done });
  list.push({ type: 'response.completed', response: responseObject(request, id, 'completed', [done], usage) });
  return list.map((event, sequence) => ({ type: event['type'], sequence_number: sequence, ...event }));
}

/** A Responses stream's event, as OpenAI writes it. */
const sseEvent = (event: JsonObject): string => `event: ${String(event['type'])}\ndata: ${JSON.stringify(event)}\n\n`;

/** The answer; a stream as `cut` says when given (that many events, then a close, a stall, a clean end, or an error event). */
export function createResponse(body: unknown, res: ServerResponse, store: ResponsesStore, cut?: StreamCut): void {
  const parsed = parse(body, store);
  if (!parsed.ok) return sendError(res, parsed.error);
  const request = parsed.value;
  const answer = plan(request);
  const id = hexId('resp');
  const usage = usageOf(request, answer);
  const list = events(request, id, answer, usage);
  const final = list.at(-1)?.['response'] as JsonObject;
  if (request.body['store'] !== false) store.set(id, { response: final, inputItems: request.conversation, events: list });
  if (!request.stream) return sendJson(res, 200, final);
  writeEvents(res, list, cut);
}

/** A Responses stream of `list`, cut as `cut` says when given. */
function writeEvents(res: ServerResponse, list: JsonObject[], cut: StreamCut | undefined): void {
  res.writeHead(200, { ...openAIHeaders('text/event-stream; charset=utf-8'), 'cache-control': 'no-cache' });
  for (const [index, event] of list.entries()) {
    if (index === cut?.after) {
      if (cut.partial === true) res.write(halfOf(sseEvent(event)));
      if (cut.ending === 'close') setTimeout(() => res.socket?.destroy(), 20);
      else if (cut.ending === 'end') res.end();
      else if (cut.ending === 'error')
        res.end(sseEvent({ type: 'error', code: STREAM_ERROR.code, message: STREAM_ERROR.message, param: null, sequence_number: index }));
      return;
    }
    res.write(sseEvent(event));
  }
  res.end();
}

/** GET (streamed again with `stream=true`, cut as `cut` says when given), DELETE and input_items of a stored response. */
export function storedResponseRoute(
  request: { method: string; pathname: string; query: URLSearchParams; cut?: StreamCut | undefined },
  res: ServerResponse,
  store: ResponsesStore,
): boolean {
  const { method, pathname, query } = request;
  const match = /^\/v1\/responses\/([^/]+)(\/input_items)?$/.exec(pathname);
  if (match === null || (method !== 'GET' && method !== 'DELETE')) return false;
  const id = decodeURIComponent(match[1] ?? '');
  const stored = store.get(id);
  if (stored === undefined) {
    sendError(res, notFound(id));
    return true;
  }
  if (method === 'DELETE') {
    store.delete(id);
    sendJson(res, 200, { id, object: 'response', deleted: true });
  } else if (match[2] === undefined && query.get('stream') === 'true') writeEvents(res, stored.events, request.cut);
  else if (match[2] === undefined) sendJson(res, 200, stored.response);
  else {
    const data = query.get('order') === 'asc' ? stored.inputItems : stored.inputItems.toReversed();
    sendJson(res, 200, { object: 'list', data, first_id: data[0]?.['id'] ?? null, last_id: data.at(-1)?.['id'] ?? null, has_more: false });
  }
  return true;
}
