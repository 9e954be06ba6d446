import type { Dispatcher } from 'undici';
import type { OpenAIErrorBody } from '../server/errors.ts';
import { classifyUpstreamError, retryAfterMs } from './error-class.ts';
import { PRIVATE_ADDRESS_REFUSED } from './ssrf-guard.ts';
import type { AttemptOutcome, ResponseSink, TokenUsage } from './types.ts';

export interface UpstreamCall {
  readonly dispatcher: Dispatcher;
  readonly origin: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Until the response headers arrive. */
  readonly timeoutMs: number;
  /** Longest silence between body chunks; `timeoutMs` when absent. */
  readonly idleTimeoutMs?: number;
  readonly signal: AbortSignal;
  readonly sink: ResponseSink;
  /** Reads token usage from the last bytes of a successful answer. */
  readonly readUsage?: (tail: string) => TokenUsage | undefined;
}

/** Enough of an answer's end to hold its usage object (or a stream's usage chunk). */
const TAIL_BYTES = 8 * 1024;

const ERROR_BODY_LIMIT = 64 * 1024;
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Sends one request upstream and streams a 2xx answer into the sink chunk by chunk,
 * with backpressure; a non-2xx answer is collected (bounded) and returned as an outcome
 * so the caller can still decide what the client sees.
 */
export function sendUpstream(call: UpstreamCall): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    let started = false;
    let errorStatus = 0;
    let retryAfter: string | undefined;
    let retryAfterDelay: number | undefined;
    const errorChunks: Buffer[] = [];
    let errorBytes = 0;
    const tail: Buffer[] = [];
    let tailBytes = 0;
    let settled = false;
    const settle = (outcome: AttemptOutcome): void => {
      if (settled) return;
      settled = true;
      call.signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    let abortController: Dispatcher.DispatchController | undefined;
    const onAbort = (): void => abortController?.abort(new Error('request cancelled'));
    call.signal.addEventListener('abort', onAbort, { once: true });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        abortController = controller;
        if (call.signal.aborted) controller.abort(new Error('request cancelled'));
      },
      onResponseStart(_controller, statusCode, headers) {
        if (statusCode >= 200 && statusCode < 300) {
          started = true;
          call.sink.start(statusCode, String(headers['content-type'] ?? 'application/json'));
        } else {
          errorStatus = statusCode;
          const header = headers['retry-after'];
          retryAfter = Array.isArray(header) ? header[0] : header;
          retryAfterDelay = retryAfterMs(headers);
        }
      },
      onResponseData(controller, chunk) {
        if (started) {
          if (call.readUsage) {
            tail.push(chunk);
            tailBytes += chunk.length;
            while (tail.length > 1 && tailBytes - (tail[0]?.length ?? 0) >= TAIL_BYTES) tailBytes -= tail.shift()?.length ?? 0;
          }
          if (!call.sink.write(chunk)) {
            controller.pause();
            call.sink.onDrain(() => controller.resume());
          }
        } else if (errorBytes < ERROR_BODY_LIMIT) {
          errorChunks.push(chunk);
          errorBytes += chunk.length;
        }
      },
      onResponseEnd() {
        if (started) {
          call.sink.end();
          const usage = call.readUsage?.(Buffer.concat(tail, tailBytes).toString('utf8'));
          settle(usage === undefined ? { kind: 'ok' } : { kind: 'ok', usage });
          return;
        }
        const body = upstreamErrorBody(errorStatus, Buffer.concat(errorChunks).toString('utf8'));
        settle({
          kind: 'upstream_error',
          status: errorStatus,
          body,
          errorClass: classifyUpstreamError(errorStatus, body),
          ...(retryAfter === undefined ? {} : { retryAfter }),
          ...(retryAfterDelay === undefined ? {} : { retryAfterMs: retryAfterDelay }),
        });
      },
      onResponseError(_controller, error) {
        settle(failureOutcome(error, started, call.signal.aborted));
      },
    };

    call.dispatcher.dispatch(
      {
        origin: call.origin,
        path: call.path,
        method: 'POST',
        headers: call.headers,
        body: call.body,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.idleTimeoutMs ?? call.timeoutMs,
      },
      handler,
    );
  });
}

function failureOutcome(error: Error, started: boolean, cancelled: boolean): AttemptOutcome {
  if (cancelled) return { kind: 'cancelled' };
  if (started) return { kind: 'broken', message: 'The upstream connection failed while the answer was streaming.' };
  const code = (error as { code?: string }).code ?? '';
  if (code === PRIVATE_ADDRESS_REFUSED)
    return {
      kind: 'failed',
      code: 'upstream_not_allowed',
      message: `${error.message}; list that address (IP or CIDR) in passthrough.allowed_hosts to allow it.`,
    };
  if (TIMEOUT_CODES.has(code)) return { kind: 'failed', code: 'upstream_timeout', message: 'The upstream did not answer in time.' };
  return { kind: 'failed', code: 'upstream_unreachable', message: `The upstream could not be reached (${code || error.name}).` };
}

/** Keeps an upstream's own OpenAI-shaped error; wraps anything else in that shape. */
export function upstreamErrorBody(status: number, text: string): OpenAIErrorBody {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isOpenAIErrorBody(parsed)) {
      const { message, type, param, code } = parsed.error;
      return { error: { message, type: type ?? 'upstream_error', param: param ?? null, code: code ?? null } };
    }
  } catch {
    // not JSON: fall through to the generic shape
  }
  const message = text.trim().slice(0, 500) || `The upstream answered with HTTP ${status}.`;
  return { error: { message, type: status >= 500 ? 'server_error' : 'upstream_error', param: null, code: null } };
}

function isOpenAIErrorBody(
  value: unknown,
): value is { error: { message: string; type?: string; param?: string | null; code?: string | null } } {
  if (typeof value !== 'object' || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string';
}
