import { createHash } from 'node:crypto';
import { COMMON_FIELDS, type OpenAIQuirks } from '../openai/quirks.ts';
import { isRecord } from '../translate/request-parts.ts';

const MESSAGE_FIELDS = new Set(['role', 'content', 'tool_calls', 'tool_call_id', 'name', 'prefix']);
const ID = /^[a-zA-Z0-9]{9}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Mistral accepts only 9-character alphanumeric tool-call ids; others (after a fallback) are mapped, stably. */
export function mistralToolId(id: string): string {
  if (ID.test(id)) return id;
  const digest = createHash('sha256').update(id).digest();
  let out = '';
  for (let index = 0; index < 9; index++) out += ALPHABET[(digest[index] ?? 0) % ALPHABET.length];
  return out;
}

/** Mistral rejects unknown fields, names seed `random_seed`, says `any` for `required`, and streams whole tool calls without `index`. */
export const MISTRAL_QUIRKS: OpenAIQuirks = {
  label: 'mistral',
  acceptedFields: new Set([...COMMON_FIELDS, 'safe_prompt', 'prediction', 'random_seed']),
  normalizeAnswers: true,
  fixRequest(body) {
    const { seed, max_completion_tokens, user: _user, stream_options: _streamOptions, ...rest } = body;
    if (seed !== undefined) rest['random_seed'] = seed;
    if (max_completion_tokens !== undefined) rest['max_tokens'] ??= max_completion_tokens;
    if (rest['tool_choice'] === 'required') rest['tool_choice'] = 'any';
    if (Array.isArray(rest['messages'])) rest['messages'] = rest['messages'].map(fixMessage);
    return rest;
  },
};

function fixMessage(message: unknown): unknown {
  if (!isRecord(message)) return message;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) if (MESSAGE_FIELDS.has(key) && value !== null) out[key] = value;
  if (typeof out['tool_call_id'] === 'string') out['tool_call_id'] = mistralToolId(out['tool_call_id']);
  if (Array.isArray(out['tool_calls'])) {
    out['tool_calls'] = out['tool_calls'].map((call: unknown) =>
      isRecord(call) && typeof call['id'] === 'string' ? { ...call, id: mistralToolId(call['id']) } : call,
    );
  }
  return out;
}
