import type { IncomingHttpHeaders } from 'node:http';
import type { OpenAIErrorBody } from '../server/errors.ts';
import type { UpstreamErrorClass } from './types.ts';

const CONTEXT_LENGTH_CODES = new Set(['context_length_exceeded', 'string_above_max_length']);
const CONTEXT_LENGTH_TEXT = /maximum context length|context (length|window)|too many (input )?tokens|prompt is too long/i;

/** Classifies an upstream error from its status and OpenAI-style body (code, type, message). */
export function classifyUpstreamError(status: number, body: OpenAIErrorBody): UpstreamErrorClass {
  const { code, type, message } = body.error;
  if (code !== null && CONTEXT_LENGTH_CODES.has(code)) return 'context_length';
  if ((status === 400 || status === 413) && CONTEXT_LENGTH_TEXT.test(message)) return 'context_length';
  if (code === 'insufficient_quota') return 'quota';
  if (status === 429) return 'rate_limit';
  if (status === 503 || status === 529 || /overloaded/i.test(`${type} ${code ?? ''}`)) return 'overloaded';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'server';
  return 'bad_request';
}

/** Milliseconds from `retry-after-ms`, or `retry-after` as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const precise = Number(first(headers['retry-after-ms']));
  if (Number.isFinite(precise) && precise >= 0 && first(headers['retry-after-ms']) !== undefined) return precise;
  const value = first(headers['retry-after'])?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
