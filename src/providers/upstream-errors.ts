import type { OpenAIErrorBody } from '../server/errors.ts';
import type { AttemptOutcome, UpstreamErrorClass, UpstreamHeaders } from './types.ts';

export type UpstreamErrorOutcome = Extract<AttemptOutcome, { kind: 'upstream_error' }>;

/** What any provider's error body says, whatever its shape. */
interface ErrorFacts {
  readonly message: string;
  /** The provider's own error kind: OpenAI `type`, Anthropic `error.type`, Google `status`, AWS exception name. */
  readonly kind: string | undefined;
  readonly code: string | undefined;
  readonly param: string | null;
  /** True when the body was already OpenAI's shape, which is then kept as it is. */
  readonly openAIShape: boolean;
  readonly retryDelayMs: number | undefined;
}

const CONTEXT_LENGTH =
  /context[_ ]length|context window|maximum context|prompt is too long|input is too long|too many (input )?tokens|exceeds the maximum number of tokens|input token count.*exceeds|too large for model|reduce the length/i;
const OVERLOADED = /overloaded|unavailable|capacity|ServiceUnavailable|ModelNotReady/i;

/**
 * Maps any provider's error answer to OpenAI's shape with a fitting status, classifies it
 * for retry and fallback decisions, and reads how long the provider asked us to wait.
 */
export function mapUpstreamError(status: number, text: string, headers: UpstreamHeaders): UpstreamErrorOutcome {
  const facts = readErrorFacts(status, text, headers);
  // A redirect (never followed: it could point anywhere) or another status outside 4xx/5xx is the
  // upstream misbehaving, not the caller's error: a 502, and another target may do better.
  const errorStatus = status >= 400 && status <= 599;
  const errorClass = errorStatus ? classifyError(status, facts) : 'server';
  const retryAfterMs = retryAfterFromHeaders(headers) ?? facts.retryDelayMs;
  // 529 (Anthropic's "overloaded") is not a status HTTP clients know; 503 says the same.
  const clientStatus = !errorStatus ? 502 : status === 529 ? 503 : errorClass === 'auth' && status === 400 ? 401 : status;
  const body: OpenAIErrorBody = facts.openAIShape
    ? { error: { message: facts.message, type: facts.kind ?? 'upstream_error', param: facts.param, code: facts.code ?? null } }
    : { error: { message: facts.message, type: openAIType(errorClass), param: facts.param, code: openAICode(errorClass, facts) } };
  return {
    kind: 'upstream_error',
    status: clientStatus,
    body,
    errorClass,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs, retryAfter: String(Math.max(1, Math.ceil(retryAfterMs / 1000))) }),
  };
}

export function classifyError(status: number, facts: Pick<ErrorFacts, 'message' | 'kind' | 'code'>): UpstreamErrorClass {
  const label = `${facts.kind ?? ''} ${facts.code ?? ''}`;
  if (status === 401 || status === 403 || /authentication|permission|unauthenticated|AccessDenied|API_KEY_INVALID/i.test(label))
    return 'auth';
  if (status === 429 || /rate_limit|throttl|RESOURCE_EXHAUSTED|quota/i.test(label)) return 'rate_limit';
  if (status === 529 || status === 503 || OVERLOADED.test(label)) return 'overloaded';
  if (CONTEXT_LENGTH.test(label) || ((status === 400 || status === 413 || status === 422) && CONTEXT_LENGTH.test(facts.message)))
    return 'context_length';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'server';
  return 'bad_request';
}

function openAIType(errorClass: UpstreamErrorClass): string {
  switch (errorClass) {
    case 'auth':
      return 'authentication_error';
    case 'rate_limit':
      return 'rate_limit_error';
    case 'overloaded':
    case 'server':
      return 'server_error';
    case 'not_found':
      return 'not_found_error';
    case 'context_length':
    case 'bad_request':
      return 'invalid_request_error';
  }
}

function openAICode(errorClass: UpstreamErrorClass, facts: ErrorFacts): string | null {
  if (errorClass === 'context_length') return 'context_length_exceeded';
  if (errorClass === 'rate_limit') return 'rate_limit_exceeded';
  return facts.code ?? facts.kind ?? null;
}

function readErrorFacts(status: number, text: string, headers: UpstreamHeaders): ErrorFacts {
  const awsKind = headerValue(headers['x-amzn-errortype'])?.split(':')[0];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const message = text.trim().slice(0, 500) || `The upstream answered with HTTP ${status}.`;
    return { message, kind: awsKind, code: undefined, param: null, openAIShape: false, retryDelayMs: undefined };
  }
  const root = asRecord(parsed) ?? {};
  const nested = asRecord(root['error']);
  const source = nested ?? root;
  const message = messageText(source['message'] ?? root['message'] ?? root['detail'] ?? root['Message']) ?? `HTTP ${status}`;
  const kind =
    stringOr(source['type']) ?? stringOr(source['status']) ?? stringOr(root['type'] === 'error' ? undefined : root['type']) ?? awsKind;
  const code = stringOr(source['code']);
  const param = stringOr(source['param']) ?? null;
  const openAIShape = nested !== undefined && typeof nested['message'] === 'string' && 'type' in nested && 'code' in nested;
  // Gemini refuses a bad key with 400 INVALID_ARGUMENT; the reason in its details says what it is.
  const reason = text.includes('API_KEY_INVALID') ? 'API_KEY_INVALID' : undefined;
  return { message, kind: reason ?? kind, code, param, openAIShape, retryDelayMs: retryDelayFromDetails(source['details']) };
}

/** Gemini's `google.rpc.RetryInfo` detail: `{"retryDelay": "34.4s"}`. */
function retryDelayFromDetails(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const detail of details) {
    const delay = asRecord(detail)?.['retryDelay'];
    const match = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
    if (match?.[1]) return Math.round(Number(match[1]) * 1000);
  }
  return undefined;
}

export function retryAfterFromHeaders(headers: UpstreamHeaders): number | undefined {
  const ms = Number(headerValue(headers['retry-after-ms']));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const value = headerValue(headers['retry-after']);
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function messageText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return undefined;
  return JSON.stringify(value);
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
