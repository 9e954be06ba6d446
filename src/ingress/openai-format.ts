import type { WireFormat } from '../pipeline/wire-format.ts';
import { sseError } from '../server/sse.ts';

/** OpenAI's own error shape, for ingress adapters whose API uses it (legacy completions): `data: {"error":...}` in streams. */
export const OPENAI_FORMAT: WireFormat = { errorBody: (_status, error) => ({ error }), streamError: sseError };
