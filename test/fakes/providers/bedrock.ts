import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { SignatureV4 } from '@smithy/signature-v4';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { isObject, randomId, unknownFields, type Dialect, type Plan, type RecordedCall, type Reply, type Turn } from './harness.ts';

export const AWS_KEYS = { accessKeyId: 'AKIDFAKEBEDROCK00001', secretAccessKey: 'fake-secret-access-key-0000000000000000' };
export const AWS_REGION = 'us-east-1';
const FIELDS = new Set([
  'messages',
  'system',
  'inferenceConfig',
  'toolConfig',
  'guardrailConfig',
  'additionalModelRequestFields',
  'promptVariables',
  'additionalModelResponseFieldPaths',
  'requestMetadata',
  'performanceConfig',
]);
const INFERENCE_FIELDS = new Set(['maxTokens', 'temperature', 'topP', 'stopSequences']);
/** Anthropic models (`anthropic.claude-…`, cross-region profiles `us.anthropic.claude-…`, their ARNs) and the fields of theirs Converse passes on. */
const ANTHROPIC_MODEL = /(?:^|[./])anthropic\./;
const ANTHROPIC_FIELDS = new Set(['top_k', 'thinking', 'anthropic_beta']);
/** Claude models from before extended thinking (3.7 Sonnet was the first to have it). */
const CANNOT_THINK = /claude-(?:instant|v2|3-(?!7))/;
const THINKING_TEXT = 'The user wants a short answer; a tool may help.';
/** The one redacted reasoning block this fake hands out (a model whose id says `fake-redacted` answers with it too), base64 as Converse's JSON carries bytes. */
export const REDACTED_REASONING = Buffer.from('fake-bedrock-redacted-reasoning').toString('base64');
const THINKING_REQUIRED =
  'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`.';
/** The Anthropic block type a Converse block becomes, as the model's errors name it. */
const ANTHROPIC_BLOCK: Record<string, string> = { text: 'text', image: 'image', toolUse: 'tool_use', toolResult: 'tool_result' };
const PATH = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/;
const codec = new EventStreamCodec(toUtf8, fromUtf8);
const signer = new SignatureV4({ service: 'bedrock', region: AWS_REGION, credentials: AWS_KEYS, sha256: Sha256 });

const exception = (status: number, type: string, message: string): Reply => ({
  status,
  headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
  body: { message },
});
const validation = (message: string): Reply => exception(400, 'ValidationException', message);
/** What the model itself refused, as Converse passes it on. */
const modelError = (message: string): Reply => validation(`The model returned the following errors: ${message}`);

/** The fake's signature of a reasoning block: the real one is opaque and checked server-side, this one is checkable too. */
function signature(text: string): string {
  return createHash('sha256').update(`fake-bedrock-reasoning:${text}`).digest('base64');
}

/** Recomputes the SigV4 signature over what arrived; any change to the signed parts fails as AWS fails it. */
async function checkSignature(call: RecordedCall): Promise<Reply | undefined> {
  const authorization = String(call.headers['authorization'] ?? '');
  const credential = /Credential=([^/]+)\//.exec(authorization)?.[1];
  if (credential !== AWS_KEYS.accessKeyId)
    return exception(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = String(call.headers[name] ?? '');
  const amzDate = String(call.headers['x-amz-date'] ?? '');
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const [host, port] = String(call.headers['host']).split(':');
  const expected = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: host ?? '',
      ...(port ? { port: Number(port) } : {}),
      path: call.path,
      query: {},
      headers,
      body: call.raw,
    },
    { signingDate },
  );
  if (expected.headers['authorization'] !== authorization) {
    return exception(403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
  }
  return undefined;
}

/**
 * The conversation, checked as Converse and the model check it: reasoning blocks (signed text, or
 * redacted bytes) only in assistant turns and unaltered; with thinking on, an assistant turn whose
 * tool calls the last turn answers must start with its reasoning, as Anthropic requires.
 */
function readMessages(messages: unknown, issued: ReadonlySet<string>, thinking: boolean) {
  if (!Array.isArray(messages) || messages.length === 0)
    return validation('The model returned the following errors: messages: at least one message is required');
  let previous = '';
  let pending = new Set<string>();
  let last = { toolResults: [] as string[], userText: '', images: [] as string[] };
  for (const [index, message] of messages.entries()) {
    if (!isObject(message) || (message['role'] !== 'user' && message['role'] !== 'assistant'))
      return validation(`messages.${index}.role: must be user or assistant`);
    if (message['role'] === previous) return validation('A conversation must alternate between user and assistant roles.');
    previous = String(message['role']);
    const content = Array.isArray(message['content']) ? message['content'].filter(isObject) : [];
    last = { toolResults: [], userText: '', images: [] };
    const uses = new Set<string>();
    for (const [at, block] of content.entries()) {
      if (typeof block['text'] === 'string') last.userText += block['text'];
      else if (isObject(block['reasoningContent'])) {
        if (message['role'] !== 'assistant') return validation(`messages.${index}: reasoningContent is only allowed in assistant messages`);
        const reasoning = block['reasoningContent'];
        const text = reasoning['reasoningText'];
        if (isObject(text)) {
          if (text['signature'] !== signature(String(text['text'])))
            return modelError(`messages.${index}.content.${at}: Invalid \`signature\` in \`thinking\` block`);
        } else if (reasoning['redactedContent'] !== REDACTED_REASONING)
          return modelError(`messages.${index}.content.${at}: Invalid \`data\` in \`redacted_thinking\` block`);
      } else if (isObject(block['image'])) {
        const source = isObject(block['image']['source']) ? block['image']['source'] : {};
        if (typeof source['bytes'] !== 'string') return validation(`messages.${index}: image source must be bytes`);
        last.images.push(`a ${String(block['image']['format'])} image`);
      } else if (isObject(block['toolUse'])) uses.add(String(block['toolUse']['toolUseId']));
      else if (isObject(block['toolResult'])) {
        const id = String(block['toolResult']['toolUseId']);
        if (!pending.delete(id) || !issued.has(id))
          return validation(`The toolUseId ${id} in toolResult does not match a toolUse block in the previous turn.`);
        const parts = Array.isArray(block['toolResult']['content']) ? block['toolResult']['content'].filter(isObject) : [];
        last.toolResults.push(parts.map((part) => String(part['text'] ?? JSON.stringify(part['json']))).join(''));
      } else return validation(`messages.${index}: unknown content block`);
    }
    if (message['role'] === 'user' && pending.size > 0)
      return validation('Expected toolResult blocks for every toolUse of the previous turn.');
    if (thinking && message['role'] === 'user' && last.toolResults.length > 0 && index === messages.length - 1) {
      const answered = messages[index - 1] as Record<string, unknown>;
      const first = Array.isArray(answered['content']) ? (answered['content'][0] as Record<string, unknown> | undefined) : undefined;
      const kind = first === undefined ? undefined : Object.keys(first)[0];
      if (kind !== 'reasoningContent')
        return modelError(
          `messages.${index - 1}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${ANTHROPIC_BLOCK[kind ?? ''] ?? String(kind)}\`. ${THINKING_REQUIRED}`,
        );
    }
    pending = uses;
  }
  return last;
}

/**
 * `additionalModelRequestFields`, a JSON object Converse hands to the model as it is: an Anthropic
 * model takes its own request fields there (`top_k` an integer), and refuses a key it does not
 * know; the other families' own fields are not modelled, so any key is refused as theirs would be.
 */
function checkModelFields(fields: unknown, model: string): Reply | undefined {
  if (fields === undefined) return undefined;
  if (!isObject(fields)) return validation('The format of the value at additionalModelRequestFields is invalid. Provide a json object.');
  const anthropic = ANTHROPIC_MODEL.test(model);
  for (const [key, value] of Object.entries(fields)) {
    if (!anthropic || !ANTHROPIC_FIELDS.has(key))
      return validation(`Malformed input request: #: extraneous key [${key}] is not permitted, please reformat your input and try again.`);
    if (key === 'top_k' && !(Number.isInteger(value) && (value as number) >= 0))
      return validation('The model returned the following errors: top_k: Input should be a valid non-negative integer');
    if (key === 'thinking') {
      if (CANNOT_THINK.test(model)) return modelError('thinking: Extra inputs are not permitted');
      const type = isObject(value) ? value['type'] : undefined;
      if (type !== 'enabled' && type !== 'disabled' && type !== 'adaptive')
        return modelError(
          `thinking: Input tag '${String(type)}' found using 'type' does not match any of the expected tags: 'adaptive', 'disabled', 'enabled'`,
        );
      const budget = (value as Record<string, unknown>)['budget_tokens'];
      if (type === 'enabled' && !(Number.isInteger(budget) && (budget as number) >= 1024))
        return modelError('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
    }
  }
  return undefined;
}

/** Extended thinking on: Claude then refuses sampling changes, forced tool use, and a budget that leaves no room for the answer. */
function checkThinking(body: Record<string, unknown>, inference: Record<string, unknown>): Reply | undefined {
  const fields = isObject(body['additionalModelRequestFields']) ? body['additionalModelRequestFields'] : {};
  const thinking = isObject(fields['thinking']) ? fields['thinking'] : {};
  const budget = thinking['budget_tokens'];
  const maxTokens = inference['maxTokens'];
  if (typeof budget === 'number' && typeof maxTokens === 'number' && budget >= maxTokens)
    return modelError('`max_tokens` must be greater than `thinking.budget_tokens`');
  if (inference['temperature'] !== undefined && inference['temperature'] !== 1)
    return modelError('`temperature` may only be set to 1 when thinking is enabled');
  if (typeof inference['topP'] === 'number' && inference['topP'] < 0.95)
    return modelError('`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled');
  if (fields['top_k'] !== undefined) return modelError('`top_k` must be unset when thinking is enabled');
  const toolConfig = isObject(body['toolConfig']) ? body['toolConfig'] : {};
  const choice = isObject(toolConfig['toolChoice']) ? toolConfig['toolChoice'] : {};
  if (choice['any'] !== undefined || choice['tool'] !== undefined)
    return modelError('Thinking may not be enabled when tool_choice forces tool use.');
  return undefined;
}

function parse(call: RecordedCall, issued: ReadonlySet<string>): Reply | Turn {
  const match = PATH.exec(call.path);
  if (!match?.[1] || match[2] === 'invoke') return exception(404, 'ResourceNotFoundException', 'Unknown operation');
  const body = call.body;
  if (!isObject(body)) return exception(400, 'SerializationException', 'Could not parse the request body');
  const extra = unknownFields(body, FIELDS);
  if (extra)
    return validation(
      `1 validation error detected: Value at '${extra}' failed to satisfy constraint: Member must be one of the known fields`,
    );
  const inference = isObject(body['inferenceConfig']) ? body['inferenceConfig'] : {};
  const badInference = unknownFields(inference, INFERENCE_FIELDS);
  if (badInference) return validation(`Unknown field inferenceConfig.${badInference}`);
  const model = decodeURIComponent(match[1]);
  const refused = checkModelFields(body['additionalModelRequestFields'], model);
  if (refused) return refused;
  const fields = isObject(body['additionalModelRequestFields']) ? body['additionalModelRequestFields'] : {};
  const thinkingType = isObject(fields['thinking']) ? fields['thinking']['type'] : undefined;
  const thinking = thinkingType === 'enabled' || thinkingType === 'adaptive';
  const unthinkable = thinking ? checkThinking(body, inference) : undefined;
  if (unthinkable) return unthinkable;
  const read = readMessages(body['messages'], issued, thinking);
  if ('status' in read) return read;
  const toolConfig = isObject(body['toolConfig']) ? body['toolConfig'] : {};
  const specs = Array.isArray(toolConfig['tools'])
    ? toolConfig['tools'].filter(isObject).map((tool) => (isObject(tool['toolSpec']) ? tool['toolSpec'] : {}))
    : [];
  const choice = isObject(toolConfig['toolChoice']) ? toolConfig['toolChoice'] : {};
  return {
    model,
    stream: match[2] === 'converse-stream',
    tools: specs.map((spec) => ({
      name: String(spec['name']),
      schema: isObject(spec['inputSchema']) && isObject(spec['inputSchema']['json']) ? spec['inputSchema']['json'] : undefined,
    })),
    forcedTool: isObject(choice['tool']) ? String(choice['tool']['name']) : undefined,
    jsonMode: false,
    thinking,
    ...read,
  };
}

const usage = { inputTokens: 22, outputTokens: 9, totalTokens: 31 };

/** With thinking on, the answer starts with the model's signed reasoning (and, for a `fake-redacted` model, a redacted block after it). */
function reasoningBlocks(turn: Turn): Record<string, unknown>[] {
  if (turn.thinking !== true) return [];
  const signed = { reasoningContent: { reasoningText: { text: THINKING_TEXT, signature: signature(THINKING_TEXT) } } };
  return turn.model.includes('fake-redacted') ? [signed, { reasoningContent: { redactedContent: REDACTED_REASONING } }] : [signed];
}
const stopOf = (plan: Plan): string => (plan.kind === 'tools' ? 'tool_use' : 'end_turn');

function frame(type: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

export function bedrockDialect(): Dialect {
  return {
    authenticate: checkSignature,
    parse,
    newToolId: () => `tooluse_${randomId(22)}`,
    reply(turn, plan) {
      const content = [
        ...reasoningBlocks(turn),
        ...(plan.kind === 'text'
          ? [{ text: plan.pieces.join('') }]
          : plan.calls.map((call) => ({ toolUse: { toolUseId: call.id, name: call.name, input: call.args } }))),
      ];
      return {
        status: 200,
        body: { output: { message: { role: 'assistant', content } }, stopReason: stopOf(plan), usage, metrics: { latencyMs: 12 } },
      };
    },
    stream(turn, plan) {
      const frames: Uint8Array[] = [frame('messageStart', { role: 'assistant' })];
      // Reasoning comes as deltas (no contentBlockStart): its text in pieces, then its signature; a redacted block whole.
      const reasoning = reasoningBlocks(turn);
      reasoning.forEach((block, contentBlockIndex) => {
        const content = block['reasoningContent'] as Record<string, unknown>;
        const signed = content['reasoningText'] as { text: string; signature: string } | undefined;
        const deltas = signed
          ? [{ text: signed.text.slice(0, 10) }, { text: signed.text.slice(10) }, { signature: signed.signature }]
          : [{ redactedContent: content['redactedContent'] }];
        for (const delta of deltas) frames.push(frame('contentBlockDelta', { contentBlockIndex, delta: { reasoningContent: delta } }));
        frames.push(frame('contentBlockStop', { contentBlockIndex }));
      });
      const first = reasoning.length;
      if (plan.kind === 'text') {
        for (const text of plan.pieces) frames.push(frame('contentBlockDelta', { contentBlockIndex: first, delta: { text } }));
        frames.push(frame('contentBlockStop', { contentBlockIndex: first }));
      } else {
        plan.calls.forEach((call, at) => {
          const index = first + at;
          frames.push(
            frame('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: call.id, name: call.name } } }),
          );
          const json = JSON.stringify(call.args);
          for (const input of [json.slice(0, 6), json.slice(6)])
            frames.push(frame('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input } } }));
          frames.push(frame('contentBlockStop', { contentBlockIndex: index }));
        });
      }
      frames.push(frame('messageStop', { stopReason: stopOf(plan) }), frame('metadata', { usage, metrics: { latencyMs: 12 } }));
      return { contentType: 'application/vnd.amazon.eventstream', frames };
    },
    error(scenario) {
      switch (scenario) {
        case 'context':
          return validation('Input is too long for requested model.');
        case 'rate_limit':
          return exception(429, 'ThrottlingException', 'Too many requests, please wait before trying again.');
        case 'overloaded':
          return exception(503, 'ServiceUnavailableException', 'Bedrock is unable to process your request.');
        case 'server':
          return exception(500, 'InternalServerException', 'The server encountered an internal error.');
      }
    },
    embed(call) {
      const match = PATH.exec(call.path);
      if (match?.[2] !== 'invoke') return undefined;
      const body = isObject(call.body) ? call.body : {};
      if (typeof body['inputText'] !== 'string') return validation('Malformed input request: required key [inputText] not found');
      return { status: 200, body: { embedding: [0.5, -0.5, 0.25], inputTextTokenCount: 3 } };
    },
  };
}
