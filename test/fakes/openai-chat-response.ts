import { randomInt } from 'node:crypto';
import type { ChatRequest, ChatTool } from './openai-chat-request.ts';
import { isJsonObject, type JsonObject, type OpenAIFixtures } from './openai-fixtures.ts';

export const SLOW_STREAM_PIECES = ['This ', 'is ', 'a ', 'slow ', 'stream.'];

export type ChatAnswer = { kind: 'text'; pieces: string[] } | { kind: 'tool_call'; id: string; name: string; argumentFragments: string[] };

const alphanumerics = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphanumerics[randomInt(alphanumerics.length)];
  return out;
}

/** Text of a message's content, whether a string or an array of content parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: unknown) => (isJsonObject(part) && typeof part['text'] === 'string' ? part['text'] : '')).join('');
}

/** Splits text the way OpenAI tokens arrive: each piece carries its leading whitespace. */
export function splitIntoPieces(text: string): string[] {
  return text.match(/\s*\S+\s*$|\s*\S+/g) ?? (text === '' ? [] : [text]);
}

/** Splits JSON arguments like OpenAI streams them: `{"`, `location`, `":"`, `Paris`, `"}`. */
export function splitArguments(json: string): string[] {
  return json.match(/[{}[\]":,]+|[^{}[\]":,]+/g) ?? [json];
}

function exampleValue(schema: unknown): unknown {
  if (!isJsonObject(schema)) return 'Paris';
  const choices = schema['enum'];
  if (Array.isArray(choices) && choices.length > 0) return choices[0];
  switch (schema['type']) {
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return exampleArguments(schema);
    default:
      return 'Paris';
  }
}

/** `{"location":"Paris"}` for a schema-less tool; otherwise one value per required property. */
export function exampleArguments(parameters: JsonObject | undefined): JsonObject {
  if (parameters === undefined) return { location: 'Paris' };
  const properties = isJsonObject(parameters['properties']) ? parameters['properties'] : {};
  const required = Array.isArray(parameters['required']) ? parameters['required'] : [];
  const args: JsonObject = {};
  for (const name of required) {
    if (typeof name === 'string') args[name] = exampleValue(properties[name]);
  }
  return args;
}

export function planAnswer(request: ChatRequest): ChatAnswer {
  if (request.toolToCall) return toolCallAnswer(request.toolToCall);
  if (request.model === 'fake-slow-stream') return { kind: 'text', pieces: SLOW_STREAM_PIECES };
  const last = request.messages.at(-1);
  if (last?.['role'] === 'tool') {
    return { kind: 'text', pieces: splitIntoPieces(`Tool result: ${contentText(last['content'])}`) };
  }
  const lastUser = request.messages.findLast((message) => message['role'] === 'user');
  return { kind: 'text', pieces: splitIntoPieces(`You said: ${contentText(lastUser?.['content'])}`) };
}

function toolCallAnswer(tool: ChatTool): ChatAnswer {
  return {
    kind: 'tool_call',
    id: `call_${randomAlphanumeric(24)}`,
    name: tool.name,
    argumentFragments: splitArguments(JSON.stringify(exampleArguments(tool.parameters))),
  };
}

function usage(request: ChatRequest, answer: ChatAnswer): JsonObject {
  const promptChars = request.messages.reduce((sum, message) => sum + contentText(message['content']).length, 0);
  const prompt_tokens = Math.ceil(promptChars / 4) + 4 * request.messages.length;
  const completion_tokens = answer.kind === 'text' ? answer.pieces.length : answer.argumentFragments.length + 8;
  return {
    prompt_tokens,
    completion_tokens,
    total_tokens: prompt_tokens + completion_tokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function finishReason(answer: ChatAnswer): string {
  return answer.kind === 'text' ? 'stop' : 'tool_calls';
}

function newCompletionIdentity(model: string): { id: string; created: number; model: string } {
  return { id: `chatcmpl-${randomAlphanumeric(29)}`, created: Math.floor(Date.now() / 1000), model };
}

export function buildCompletion(fixtures: OpenAIFixtures, request: ChatRequest, answer: ChatAnswer): JsonObject {
  const message =
    answer.kind === 'text'
      ? { role: 'assistant', content: answer.pieces.join(''), refusal: null, annotations: [] }
      : {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: answer.id,
              type: 'function',
              function: { name: answer.name, arguments: answer.argumentFragments.join('') },
            },
          ],
          refusal: null,
          annotations: [],
        };
  return {
    ...fixtures.completion,
    ...newCompletionIdentity(request.model),
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(answer) }],
    usage: usage(request, answer),
  };
}

export interface StreamedChunk {
  chunk: JsonObject;
  carriesContent: boolean;
}

/** The `chat.completion.chunk` objects of a streamed answer, without the closing `[DONE]`. */
function choice(delta: JsonObject, finish: string | null = null): JsonObject[] {
  return [{ index: 0, delta, logprobs: null, finish_reason: finish }];
}

export function buildChunks(fixtures: OpenAIFixtures, request: ChatRequest, answer: ChatAnswer): StreamedChunk[] {
  const identity = newCompletionIdentity(request.model);
  const chunk = (choices: JsonObject[], usageValue: JsonObject | null = null): JsonObject => {
    const out: JsonObject = { ...fixtures.chunk, ...identity, choices, usage: usageValue };
    // Real chunks carry `usage: null` only when the client asked for usage.
    if (!request.includeUsage) delete out['usage'];
    if (request.includeObfuscation) out['obfuscation'] = randomAlphanumeric(1 + randomInt(12));
    else delete out['obfuscation'];
    return out;
  };

  const chunks: StreamedChunk[] = [];
  if (answer.kind === 'text') {
    chunks.push({ chunk: chunk(choice({ role: 'assistant', content: '', refusal: null })), carriesContent: false });
    for (const piece of answer.pieces) {
      chunks.push({ chunk: chunk(choice({ content: piece })), carriesContent: true });
    }
  } else {
    const firstDelta = {
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, id: answer.id, type: 'function', function: { name: answer.name, arguments: '' } }],
      refusal: null,
    };
    chunks.push({ chunk: chunk(choice(firstDelta)), carriesContent: false });
    for (const fragment of answer.argumentFragments) {
      const delta = { tool_calls: [{ index: 0, function: { arguments: fragment } }] };
      chunks.push({ chunk: chunk(choice(delta)), carriesContent: true });
    }
  }
  chunks.push({ chunk: chunk(choice({}, finishReason(answer))), carriesContent: false });
  if (request.includeUsage) chunks.push({ chunk: chunk([], usage(request, answer)), carriesContent: false });
  return chunks;
}
