import type { Dispatcher } from 'undici';
import { UsageEventFilter } from './openai/usage-event-filter.ts';
import { PRIVATE_ADDRESS_REFUSED } from './ssrf-guard.ts';
import { mapUpstreamError, type UpstreamErrorOutcome } from './upstream-errors.ts';
import type { AttemptOutcome, ResponseSink, TokenUsage, UpstreamHeaders } from './types.ts';

/**
 * Turns a provider's 2xx answer into OpenAI's, incrementally: bytes in, OpenAI bytes out.
 * A passthrough has none; a translating provider makes one per attempt.
 */
export interface AnswerTranslator {
  /** The content type the client gets. */
  readonly contentType: string;
  /** The next bytes of the answer; returns what is ready for the client ('' when nothing is). */
  push(chunk: Buffer): string;
  /** The upstream ended; returns the closing text. */
  end(): string;
  /** Token usage, once the answer reported it. */
  readonly usage: TokenUsage | undefined;
  /** Set when the answer turned out to be an error (an error event, a cut stream, an unreadable body). */
  readonly failure: UpstreamErrorOutcome | undefined;
}

export interface UpstreamCall {
  readonly dispatcher: Dispatcher;
  readonly origin: string;
  readonly method?: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Uint8Array;
  /** Until the response headers arrive. */
  readonly timeoutMs: number;
  /** Longest silence between body chunks (a stream's idle timeout); `timeoutMs` when absent. */
  readonly idleTimeoutMs?: number | undefined;
  readonly signal: AbortSignal;
  readonly sink: ResponseSink;
  /** Reads token usage from the last bytes of a successful answer (and its first bytes, for formats that count input there). */
  readonly readUsage?: (tail: readonly Buffer[], head: readonly Buffer[]) => TokenUsage | undefined;
  readonly translator?: AnswerTranslator;
  /** Remove the usage-only chunk of an OpenAI stream before it reaches the client (the gateway asked for it). */
  readonly hideUsageEvent?: boolean;
}

/** Enough of an answer's end to hold its usage object (or a stream's usage chunk). */
const TAIL_BYTES = 8 * 1024;
/** Enough of an answer's start to hold a stream's opening event (Anthropic's message_start counts the input there). */
const HEAD_BYTES = 2 * 1024;

const ERROR_BODY_LIMIT = 64 * 1024;
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Sends one request upstream and streams a 2xx answer into the sink chunk by chunk (through
 * the translator, when there is one), with backpressure; a non-2xx answer is collected
 * (bounded) and returned as an outcome so the caller can still decide what the client sees.
 */
export function sendUpstream(call: UpstreamCall): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    let started = false;
    let success = false;
    let status = 0;
    let errorHeaders: UpstreamHeaders = {};
    const errorChunks: Buffer[] = [];
    let errorBytes = 0;
    const tail: Buffer[] = [];
    let filter: UsageEventFilter | undefined;
    let tailBytes = 0;
    const head: Buffer[] = [];
    let headBytes = 0;
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
    const { translator } = call;

    const startSink = (contentType: string): void => {
      if (started) return;
      started = true;
      call.sink.start(status, contentType);
    };
    const forward = (controller: Dispatcher.DispatchController, bytes: Buffer | string): void => {
      if (!call.sink.write(bytes)) {
        controller.pause();
        call.sink.onDrain(() => controller.resume());
      }
    };
    /** A translated answer that turned out to be an error: an error before the first byte, a broken stream after. */
    const failTranslation = (controller: Dispatcher.DispatchController | undefined, failure: UpstreamErrorOutcome): void => {
      settle(started ? { kind: 'broken', message: failure.body.error.message } : failure);
      controller?.abort(new Error('upstream answer failed'));
    };
    const translate = (controller: Dispatcher.DispatchController, step: () => string): string | undefined => {
      if (translator === undefined) return undefined;
      let out: string;
      try {
        out = step();
      } catch (error) {
        failTranslation(controller, unreadableAnswer(error));
        return undefined;
      }
      if (translator.failure) {
        failTranslation(controller, translator.failure);
        return undefined;
      }
      return out;
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        abortController = controller;
        if (call.signal.aborted) controller.abort(new Error('request cancelled'));
      },
      onResponseStart(_controller, statusCode, headers) {
        status = statusCode;
        success = statusCode >= 200 && statusCode < 300;
        if (!success) errorHeaders = headers;
        else if (translator === undefined) {
          const contentType = String(headers['content-type'] ?? 'application/json');
          if (call.hideUsageEvent && contentType.startsWith('text/event-stream')) filter = new UsageEventFilter();
          startSink(contentType);
        }
      },
      onResponseData(controller, chunk) {
        if (settled) return;
        if (!success) {
          if (errorBytes < ERROR_BODY_LIMIT) {
            errorChunks.push(chunk);
            errorBytes += chunk.length;
          }
          return;
        }
        if (translator !== undefined) {
          const out = translate(controller, () => translator.push(chunk));
          if (out) {
            startSink(translator.contentType);
            forward(controller, Buffer.from(out));
          }
          return;
        }
        if (call.readUsage) {
          if (headBytes < HEAD_BYTES) {
            head.push(chunk);
            headBytes += chunk.length;
          }
          tail.push(chunk);
          tailBytes += chunk.length;
          while (tail.length > 1 && tailBytes - (tail[0]?.length ?? 0) >= TAIL_BYTES) tailBytes -= tail.shift()?.length ?? 0;
        }
        const forwarded = filter === undefined ? chunk : filter.push(chunk);
        if (forwarded.length > 0) forward(controller, forwarded);
      },
      onResponseEnd(controller) {
        if (settled) return;
        if (!success) {
          settle(mapUpstreamError(status, Buffer.concat(errorChunks).toString('utf8'), errorHeaders));
          return;
        }
        if (translator !== undefined) {
          const out = translate(controller, () => translator.end());
          if (out === undefined) return;
          startSink(translator.contentType);
          if (out) call.sink.write(out);
          call.sink.end(translator.usage);
          settle(translator.usage === undefined ? { kind: 'ok' } : { kind: 'ok', usage: translator.usage });
          return;
        }
        const rest = filter?.flush();
        if (rest !== undefined && rest.length > 0) call.sink.write(rest);
        const usage = call.readUsage?.(tail, head);
        call.sink.end(usage);
        settle(usage === undefined ? { kind: 'ok' } : { kind: 'ok', usage });
      },
      onResponseError(_controller, error) {
        settle(failureOutcome(error, started, call.signal.aborted));
      },
    };

    call.dispatcher.dispatch(
      {
        origin: call.origin,
        path: call.path,
        method: call.method ?? 'POST',
        headers: call.headers,
        body: call.body ?? null,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.idleTimeoutMs ?? call.timeoutMs,
      },
      handler,
    );
  });
}

function unreadableAnswer(error: unknown): UpstreamErrorOutcome {
  const reason = error instanceof Error ? error.message : String(error);
  return {
    kind: 'upstream_error',
    status: 502,
    body: {
      error: { message: `The upstream's answer could not be read: ${reason}`, type: 'server_error', param: null, code: 'upstream_error' },
    },
    errorClass: 'server',
  };
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
