import { COMMON_FIELDS, type OpenAIQuirks } from '../openai/quirks.ts';

/** Groq: OpenAI's wire format without logprobs or logit_bias; usage comes in `x_groq` on older streams. */
export const GROQ_QUIRKS: OpenAIQuirks = {
  label: 'groq',
  acceptedFields: new Set([...COMMON_FIELDS, 'reasoning_effort', 'reasoning_format', 'service_tier']),
  normalizeAnswers: true,
};
