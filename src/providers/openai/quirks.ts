import type { ChatRequest } from '../types.ts';
import { checkSupportedFields } from '../translate/request-parts.ts';

/**
 * How an OpenAI-like upstream differs from OpenAI: which fields it accepts, how a request is
 * rewritten for it, and whether its answers need normalizing before OpenAI clients see them.
 */
export interface OpenAIQuirks {
  /** Provider name used in error messages. */
  readonly label: string;
  /** Request fields the provider accepts beyond those every provider reads; others are refused with a 400. */
  readonly acceptedFields: ReadonlySet<string>;
  /** Pure rewrite of the (already allow-listed) request body. */
  readonly fixRequest?: (body: Record<string, unknown>) => Record<string, unknown>;
  /** True when answers must be parsed and normalized (tool-call indexes and types, usage chunks, [DONE]). */
  readonly normalizeAnswers: boolean;
}

/** The upstream body for an OpenAI-like provider: unsupported fields refused, harmless ones dropped, quirks applied. */
export function quirkedBody(request: ChatRequest, model: string, quirks: OpenAIQuirks): Record<string, unknown> {
  checkSupportedFields(request, quirks.label, quirks.acceptedFields);
  const body: Record<string, unknown> = { model };
  for (const [field, value] of Object.entries(request)) {
    if (field === 'model' || value === null || value === undefined) continue;
    if (
      field === 'messages' ||
      field === 'stream' ||
      field === 'tools' ||
      field === 'tool_choice' ||
      field === 'response_format' ||
      quirks.acceptedFields.has(field)
    ) {
      body[field] = value;
    }
  }
  if (request.stream === true && request.stream_options) body['stream_options'] = request.stream_options;
  return quirks.fixRequest ? quirks.fixRequest(body) : body;
}

/**
 * The droppable fields (`AttemptOptions.droppable`) OpenAI's own chat API takes, so OpenAI, Azure
 * and plain compatible servers get them: `reasoning_effort`, never `top_k`. An OpenAI-like
 * provider gets those its accepted fields list.
 */
export const OPENAI_CHAT_FIELDS: ReadonlySet<string> = new Set(['reasoning_effort']);

/** The sampling and output fields OpenAI-like providers commonly share. */
export const COMMON_FIELDS = [
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'parallel_tool_calls',
  'user',
  'n',
] as const;
