import { COMMON_FIELDS, type OpenAIQuirks } from '../openai/quirks.ts';
import { unsupported } from '../translate/request-parts.ts';

/**
 * DeepSeek: OpenAI-like with reasoning_content; max_tokens only, JSON mode without schemas, no
 * seed. `reasoning_effort` sets the thinking effort (it takes low, high and max, and maps the
 * other levels to the nearest).
 */
export const DEEPSEEK_QUIRKS: OpenAIQuirks = {
  label: 'deepseek',
  acceptedFields: new Set([...COMMON_FIELDS, 'logprobs', 'top_logprobs', 'reasoning_effort']),
  normalizeAnswers: true,
  fixRequest(body) {
    const { max_completion_tokens, seed: _seed, user: _user, n: _n, parallel_tool_calls: _parallel, ...rest } = body;
    if (max_completion_tokens !== undefined) rest['max_tokens'] ??= max_completion_tokens;
    const format = rest['response_format'];
    if (typeof format === 'object' && format !== null && (format as { type?: unknown }).type === 'json_schema') {
      throw unsupported('deepseek', "response_format 'json_schema' (use 'json_object')", 'response_format');
    }
    return rest;
  },
};
