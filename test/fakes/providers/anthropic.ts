import { createHash } from 'node:crypto';
import { isObject, randomId, unknownFields, type Dialect, type Plan, type RecordedCall, type Reply, type Turn } from './harness.ts';

export const ANTHROPIC_KEY = 'sk-ant-fake-valid-key';
const FIELDS = new Set([
  'model',
  'messages',
  'max_tokens',
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
  'container',
  'mcp_servers',
]);
const BLOCKS = new Set(['text', 'image', 'tool_use', 'tool_result', 'document', 'thinking', 'redacted_thinking']);
const ID = /^[a-zA-Z0-9_-]+$/;
const THINKING_TEXT = 'The user wants a short answer; a tool may help.';

/** The fake's signature of a thinking block: Anthropic's is opaque and checked server-side, this one is checkable too. */
function signature(thinking: string): string {
  return createHash('sha256').update(`fake-anthropic-thinking:${thinking}`).digest('base64');
}

const THINKING_REQUIRED =
  'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`.';

const error = (status: number, type: string, message: string, headers?: Record<string, string>): Reply => ({
  status,
  body: { type: 'error', error: { type, message } },
  ...(headers ? { headers } : {}),
});
const invalid = (message: string): Reply => error(400, 'invalid_request_error', message);

function checkMessages(
  messages: unknown,
  issued: ReadonlySet<string>,
  thinking = false,
): Reply | { toolResults: string[]; userText: string; images: string[] } {
  if (!Array.isArray(messages) || messages.length === 0) return invalid('messages: at least one message is required');
  let previous = '';
  let pendingToolUses = new Set<string>();
  let last = { toolResults: [] as string[], userText: '', images: [] as string[] };
  for (const [index, message] of messages.entries()) {
    if (!isObject(message) || (message['role'] !== 'user' && message['role'] !== 'assistant')) {
      return invalid(`messages.${index}.role: Input should be 'user' or 'assistant'`);
    }
    if (index === 0 && message['role'] !== 'user') return invalid('messages: first message must use the "user" role');
    if (message['role'] === previous) return invalid('messages: roles must alternate between "user" and "assistant"');
    previous = String(message['role']);
    const content = typeof message['content'] === 'string' ? [{ type: 'text', text: message['content'] }] : message['content'];
    if (!Array.isArray(content)) return invalid(`messages.${index}.content: Input should be a valid list`);
    last = { toolResults: [], userText: '', images: [] };
    const uses = new Set<string>();
    for (const [at, block] of content.entries()) {
      if (!isObject(block) || !BLOCKS.has(String(block['type']))) return invalid(`messages.${index}.content: unknown block type`);
      if (block['type'] === 'thinking' && block['signature'] !== signature(String(block['thinking'])))
        return invalid(`messages.${index}.content.${at}: Invalid \`signature\` in \`thinking\` block`);
      if (block['type'] === 'text') last.userText += String(block['text']);
      if (block['type'] === 'image') {
        const source = isObject(block['source']) ? block['source'] : {};
        if (source['type'] === 'base64' && typeof source['data'] === 'string' && typeof source['media_type'] === 'string') {
          last.images.push(`a ${source['media_type']} image`);
        } else if (source['type'] === 'url' && typeof source['url'] === 'string') last.images.push(`an image at ${source['url']}`);
        else return invalid(`messages.${index}.content: invalid image source`);
      }
      if (block['type'] === 'tool_use') {
        if (typeof block['id'] !== 'string' || !ID.test(block['id']))
          return invalid(`messages.${index}.content: tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'`);
        if (!isObject(block['input'])) return invalid(`messages.${index}.content: tool_use.input: Input should be a valid dictionary`);
        uses.add(block['id']);
      }
      if (block['type'] === 'tool_result') {
        const id = String(block['tool_use_id']);
        if (!pendingToolUses.has(id) || !issued.has(id)) {
          return invalid(`messages.${index}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}`);
        }
        pendingToolUses.delete(id);
        last.toolResults.push(String(block['content']));
      }
    }
    if (thinking && message['role'] === 'user' && last.toolResults.length > 0 && index === messages.length - 1) {
      const answered = messages[index - 1] as Record<string, unknown>;
      const first = Array.isArray(answered['content']) ? (answered['content'][0] as Record<string, unknown> | undefined) : undefined;
      if (first?.['type'] !== 'thinking' && first?.['type'] !== 'redacted_thinking')
        return invalid(
          `messages.${index - 1}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first?.['type'])}\`. ${THINKING_REQUIRED}`,
        );
    }
    if (message['role'] === 'user' && pendingToolUses.size > 0) {
      return invalid(
        `messages.${index}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${[...pendingToolUses].join(', ')}`,
      );
    }
    pendingToolUses = uses;
  }
  return last;
}

function parse(call: RecordedCall, issued: ReadonlySet<string>): Reply | Turn {
  if (call.path !== '/v1/messages') return error(404, 'not_found_error', 'Not Found');
  if (call.headers['anthropic-version'] === undefined) return invalid('anthropic-version: header is required');
  const body = call.body;
  if (!isObject(body)) return invalid('There was an error parsing the body of your request');
  const extra = unknownFields(body, FIELDS);
  if (extra) return invalid(`${extra}: Extra inputs are not permitted`);
  if (typeof body['model'] !== 'string') return invalid('model: Field required');
  if (typeof body['max_tokens'] !== 'number') return invalid('max_tokens: Field required');
  const thinking = isObject(body['thinking']) && body['thinking']['type'] === 'enabled';
  if (thinking) {
    const budget = (body['thinking'] as Record<string, unknown>)['budget_tokens'];
    if (typeof budget !== 'number' || budget < 1024)
      return invalid('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
    if (budget >= body['max_tokens']) return invalid('`max_tokens` must be greater than `thinking.budget_tokens`');
  }
  const read = checkMessages(body['messages'], issued, thinking);
  if ('status' in read) return read;
  const tools = Array.isArray(body['tools']) ? body['tools'].filter(isObject) : [];
  for (const tool of tools) {
    if (typeof tool['name'] !== 'string' || !isObject(tool['input_schema'])) return invalid('tools.0.input_schema: Field required');
  }
  const choice = isObject(body['tool_choice']) ? body['tool_choice'] : undefined;
  return {
    model: body['model'],
    stream: body['stream'] === true,
    tools: tools.map((tool) => ({ name: String(tool['name']), schema: tool['input_schema'] as Record<string, unknown> })),
    forcedTool: choice?.['type'] === 'tool' ? String(choice['name']) : undefined,
    jsonMode: false,
    thinking,
    ...read,
  };
}

function contentBlocks(turn: Turn, plan: Plan): Record<string, unknown>[] {
  const thinking = turn.thinking === true ? [{ type: 'thinking', thinking: THINKING_TEXT, signature: signature(THINKING_TEXT) }] : [];
  if (plan.kind === 'text') return [...thinking, { type: 'text', text: plan.pieces.join('') }];
  return [...thinking, ...plan.calls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: call.args }))];
}

const usage = { input_tokens: 21, cache_creation_input_tokens: 0, cache_read_input_tokens: 4, output_tokens: 9 };

function sse(event: Record<string, unknown>): string {
  return `event: ${String(event['type'])}\ndata: ${JSON.stringify(event)}\n\n`;
}

const COUNT_FIELDS = new Set(['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'mcp_servers']);

function textsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(textsIn);
  if (!isObject(value)) return [];
  return [value['text'], value['content']].flatMap(textsIn);
}

/** `/v1/messages/count_tokens`: validated like a message request (no max_tokens); one token per word of text, as a fake. */
function countTokens(call: RecordedCall, issued: ReadonlySet<string>): Reply | undefined {
  if (call.path !== '/v1/messages/count_tokens') return undefined;
  const body = call.body;
  if (!isObject(body)) return invalid('There was an error parsing the body of your request');
  const extra = unknownFields(body, COUNT_FIELDS);
  if (extra) return invalid(`${extra}: Extra inputs are not permitted`);
  if (typeof body['model'] !== 'string') return invalid('model: Field required');
  const read = checkMessages(body['messages'], issued);
  if ('status' in read) return read;
  const words = textsIn([body['system'], body['messages']])
    .join(' ')
    .split(/\s+/)
    .filter((word) => word !== '');
  return { status: 200, body: { input_tokens: words.length } };
}

export const anthropicDialect: Dialect = {
  countTokens,
  authenticate(call) {
    if (call.headers['x-api-key'] === ANTHROPIC_KEY) return undefined;
    return error(401, 'authentication_error', 'invalid x-api-key');
  },
  parse,
  newToolId: () => `toolu_01${randomId(22)}`,
  reply(turn, plan) {
    return {
      status: 200,
      body: {
        id: `msg_01${randomId(22)}`,
        type: 'message',
        role: 'assistant',
        model: turn.model,
        content: contentBlocks(turn, plan),
        stop_reason: plan.kind === 'tools' ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage,
      },
    };
  },
  stream(turn, plan) {
    const frames = [
      sse({
        type: 'message_start',
        message: {
          id: `msg_01${randomId(22)}`,
          type: 'message',
          role: 'assistant',
          model: turn.model,
          content: [],
          stop_reason: null,
          usage: { ...usage, output_tokens: 1 },
        },
      }),
      sse({ type: 'ping' }),
    ];
    const first = turn.thinking === true ? 1 : 0;
    if (turn.thinking === true) {
      frames.push(sse({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }));
      for (const piece of [THINKING_TEXT.slice(0, 10), THINKING_TEXT.slice(10)])
        frames.push(sse({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: piece } }));
      frames.push(sse({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: signature(THINKING_TEXT) } }));
      frames.push(sse({ type: 'content_block_stop', index: 0 }));
    }
    if (plan.kind === 'text') {
      frames.push(sse({ type: 'content_block_start', index: first, content_block: { type: 'text', text: '' } }));
      for (const piece of plan.pieces)
        frames.push(sse({ type: 'content_block_delta', index: first, delta: { type: 'text_delta', text: piece } }));
      frames.push(sse({ type: 'content_block_stop', index: first }));
    } else {
      plan.calls.forEach((call, at) => {
        const index = first + at;
        frames.push(
          sse({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } }),
        );
        const json = JSON.stringify(call.args);
        for (const part of [json.slice(0, 5), json.slice(5)])
          frames.push(sse({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: part } }));
        frames.push(sse({ type: 'content_block_stop', index }));
      });
    }
    frames.push(
      sse({
        type: 'message_delta',
        delta: { stop_reason: plan.kind === 'tools' ? 'tool_use' : 'end_turn', stop_sequence: null },
        usage: { output_tokens: 9 },
      }),
    );
    frames.push(sse({ type: 'message_stop' }));
    return { contentType: 'text/event-stream; charset=utf-8', frames };
  },
  /** What Anthropic sends when it fails mid-stream (an overload, typically), after which the stream ends. */
  streamError: () => sse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
  error(scenario) {
    switch (scenario) {
      case 'context':
        return invalid('prompt is too long: 208310 tokens > 200000 maximum');
      case 'rate_limit':
        return error(429, 'rate_limit_error', 'This request would exceed the rate limit for your organization.', { 'retry-after': '7' });
      case 'overloaded':
        return error(529, 'overloaded_error', 'Overloaded');
      case 'server':
        return error(500, 'api_error', 'Internal server error');
    }
  },
};
