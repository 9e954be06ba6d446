import { z } from 'zod';
import { requestParser } from '../../pipeline/validate.ts';
import { compact } from '../../providers/translate/request-parts.ts';
import type { ChatRequest } from '../../providers/types.ts';
import { GatewayError } from '../../server/errors.ts';

const completionsSchema = z.looseObject({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()).min(1), z.array(z.int()).min(1), z.array(z.array(z.int()).min(1)).min(1)]),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.int().nonnegative().nullable().optional(),
  echo: z.boolean().nullable().optional(),
  n: z.int().min(1).max(128).nullable().optional(),
});

export type CompletionsRequest = z.output<typeof completionsSchema>;

export const parseCompletionsRequest: (body: unknown) => CompletionsRequest = requestParser(completionsSchema);

/** Chat fields of the same name and meaning; the provider judges whether it honors them. */
const SAME_IN_CHAT = ['temperature', 'top_p', 'n', 'stop', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'seed', 'user'] as const;
const READ = new Set(['model', 'prompt', 'stream', 'stream_options', 'max_tokens', 'echo', ...SAME_IN_CHAT]);

/** The prompt text when the request can be answered over chat: one text prompt. */
export function promptText(request: CompletionsRequest): string {
  const { prompt } = request;
  if (typeof prompt === 'string') return prompt;
  if (prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0];
  const what = typeof prompt[0] === 'string' ? 'several prompts in one request' : 'token-id prompts';
  throw new GatewayError('unsupported_parameter', `This model's provider has no completions API, and over chat it cannot take ${what}.`, {
    param: 'prompt',
  });
}

/** A legacy completion request as a one-message chat request, for a provider without the completions API. */
export function toChatRequest(request: CompletionsRequest): ChatRequest {
  for (const [field, value] of Object.entries(request)) {
    if (value === null || value === undefined || READ.has(field)) continue;
    if ((field === 'best_of' && value === 1) || (field === 'suffix' && value === '')) continue;
    throw new GatewayError(
      'unsupported_parameter',
      `This model's provider has no completions API, and over chat it cannot honor '${field}'.`,
      {
        param: field,
      },
    );
  }
  const same: Record<string, unknown> = {};
  for (const field of SAME_IN_CHAT) if (request[field] !== undefined && request[field] !== null) same[field] = request[field];
  return compact({
    model: request.model,
    messages: [{ role: 'user', content: promptText(request) }],
    ...same,
    max_completion_tokens: request.max_tokens ?? undefined,
    stream: request.stream === true ? true : undefined,
    stream_options: request.stream === true ? { include_usage: true } : undefined,
  });
}

/**
 * What routing and the limits read of a request that cannot go over chat (it is relayed as it
 * is): its prompts as one user message (a token-id prompt counted by the token estimate at a
 * fixed amount), the tokens it reserves for every choice of every prompt, and its user.
 */
export function toChatView(request: CompletionsRequest): ChatRequest {
  const { prompt } = request;
  const prompts: ReadonlyArray<string | number | readonly number[]> = typeof prompt === 'string' ? [prompt] : prompt;
  // A list of numbers is one prompt of token ids; a list of lists, several.
  const parts =
    typeof prompts[0] === 'number'
      ? [{ type: 'tokens' }]
      : prompts.map((one) => (typeof one === 'string' ? { type: 'text', text: one } : { type: 'tokens' }));
  const bestOf = typeof request['best_of'] === 'number' ? request['best_of'] : 1;
  return compact({
    model: request.model,
    messages: [{ role: 'user', content: parts }],
    max_completion_tokens: request.max_tokens ?? undefined,
    n: Math.max(request.n ?? 1, bestOf) * parts.length,
    stream: request.stream === true ? true : undefined,
    user: typeof request['user'] === 'string' ? request['user'] : undefined,
  });
}
