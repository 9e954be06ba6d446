import { COMMON_FIELDS, type OpenAIQuirks } from '../openai/quirks.ts';

/** xAI (Grok): OpenAI's wire format; reasoning models return reasoning_content. */
export const XAI_QUIRKS: OpenAIQuirks = {
  label: 'xai',
  acceptedFields: new Set([...COMMON_FIELDS, 'logprobs', 'top_logprobs', 'reasoning_effort', 'search_parameters', 'logit_bias']),
  normalizeAnswers: false,
};
