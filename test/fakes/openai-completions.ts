import type { ServerResponse } from 'node:http';
import { randomAlphanumeric, splitIntoPieces } from './openai-chat-response.ts';
import { invalidType, missingParameter, openAIError } from './openai-errors.ts';
import { isJsonObject } from './openai-fixtures.ts';
import { openAIHeaders, sendError, sendJson } from './openai-http.ts';
import { checkKnownParameters, parseModel } from './openai-validation.ts';

/** The legacy completions API as OpenAI validates and answers it: only completion models, one text per prompt. */
const PARAMETERS = new Set([
  'model',
  'prompt',
  'suffix',
  'max_tokens',
  'temperature',
  'top_p',
  'n',
  'stream',
  'stream_options',
  'logprobs',
  'echo',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'best_of',
  'logit_bias',
  'user',
  'seed',
]);
export const COMPLETION_MODELS = new Set(['gpt-3.5-turbo-instruct', 'davinci-002', 'babbage-002']);

const chatModel = openAIError(
  404,
  'This is a chat model and not supported in the v1/completions endpoint. Did you mean to use v1/chat/completions?',
  {
    param: 'model',
  },
);

export function createCompletion(body: unknown, res: ServerResponse): void {
  if (!isJsonObject(body)) return sendError(res, invalidType('body', 'an object', body));
  const unknown = checkKnownParameters(body, PARAMETERS);
  if (unknown) return sendError(res, unknown);
  const model = parseModel(body);
  if (!model.ok) return sendError(res, model.error);
  if (!COMPLETION_MODELS.has(model.value)) return sendError(res, chatModel);
  const prompt = body['prompt'];
  if (prompt === undefined) return sendError(res, missingParameter('prompt'));
  if (typeof prompt !== 'string') return sendError(res, invalidType('prompt', 'a string', prompt));
  const pieces = splitIntoPieces(`You said: ${prompt}`);
  const head = {
    id: `cmpl-${randomAlphanumeric(29)}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: model.value,
  };
  const usage = {
    prompt_tokens: Math.ceil(prompt.length / 4),
    completion_tokens: pieces.length,
    total_tokens: Math.ceil(prompt.length / 4) + pieces.length,
  };
  if (body['stream'] !== true) {
    return sendJson(res, 200, { ...head, choices: [{ text: pieces.join(''), index: 0, logprobs: null, finish_reason: 'stop' }], usage });
  }
  res.writeHead(200, { ...openAIHeaders('text/event-stream; charset=utf-8'), 'cache-control': 'no-cache' });
  for (const [index, piece] of pieces.entries()) {
    const finish = index === pieces.length - 1 ? 'stop' : null;
    res.write(`data: ${JSON.stringify({ ...head, choices: [{ text: piece, index: 0, logprobs: null, finish_reason: finish }] })}\n\n`);
  }
  const options = body['stream_options'];
  if (isJsonObject(options) && options['include_usage'] === true) res.write(`data: ${JSON.stringify({ ...head, choices: [], usage })}\n\n`);
  res.end('data: [DONE]\n\n');
}
