import type { Dispatcher } from 'undici';
import { UsageEventFilter } from './openai/usage-event-filter.ts';
import { PRIVATE_ADDRESS_REFUSED } from './ssrf-guard.ts';
import { mapUpstreamError, type UpstreamErrorOutcome } from './upstream-errors.ts';
import type { AbortHooks, AttemptOutcome, ResponseSink, TokenUsage, UpstreamHeaders } from './types.ts';
import { Buffer } from 'node:buffer';
import { replaceSecrets } from '../observability/redaction.ts';
import type { StreamEndCheck, StreamEndChecks } from './stream-end.ts';
import { CUT_STREAM_MESSAGE } from './translate/translators.ts';
import { WholeEvents } from './whole-events.ts';

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
  /** Where to hear of the signal's abort without an EventTarget listener, when the caller has them. */
  readonly abortHooks?: AbortHooks | undefined;
  readonly sink: ResponseSink;
  /** Reads token usage from the last bytes of a successful answer (and its first bytes, for formats that count input there). */
  readonly readUsage?: (tail: readonly Buffer[], head: readonly Buffer[]) => TokenUsage | undefined;
  readonly translator?: AnswerTranslator;
  /** Remove the usage-only chunk of an OpenAI stream before it reaches the client (the gateway asked for it). */
  readonly hideUsageEvent?: boolean;
  /**
   * For an event stream passed on untranslated: how it ended. One that did not reach its final
   * event was cut; one that ended with its own error event failed, though the caller has it all.
   */
  readonly streamEnd?: StreamEndChecks;
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
    const exchange = new UpstreamExchange(call, resolve);
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
      exchange,
    );
  });
}

/**
 * One request's side of the upstream exchange: undici's handler, holding the state of the
 * answer. A class rather than closures, since one is made per attempt on the hot path.
 */
class UpstreamExchange implements Dispatcher.DispatchHandler {
  readonly #call: UpstreamCall;
  readonly #resolve: (outcome: AttemptOutcome) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #started = false;
  #success = false;
  #settled = false;
  #status = 0;
  #errorHeaders: UpstreamHeaders = {};
  #errorChunks: Buffer[] | undefined;
  #errorBytes = 0;
  #tail: Buffer[] | undefined;
  #tailBytes = 0;
  #head: Buffer[] | undefined;
  #headBytes = 0;
  /** Reads the whole events `#events` passes on. */
  #filter: UsageEventFilter | undefined;
  /** Holds back the event an untranslated stream's last chunk ends in the middle of: the client gets whole events only. */
  #events: WholeEvents | undefined;
  /** The call's `streamEnd` check, once the answer is an event stream. */
  #endCheck: StreamEndCheck | undefined;
  readonly #onAbort = (): void => this.#controller?.abort(new Error('request cancelled'));
  readonly #resume = (): void => this.#controller?.resume();

  constructor(call: UpstreamCall, resolve: (outcome: AttemptOutcome) => void) {
    this.#call = call;
    this.#resolve = resolve;
    // Removed in #settle.
    if (call.abortHooks !== undefined) call.abortHooks.add(this.#onAbort);
    else call.signal.addEventListener('abort', this.#onAbort);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#call.signal.aborted) controller.abort(new Error('request cancelled'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: UpstreamHeaders): void {
    this.#status = statusCode;
    this.#success = statusCode >= 200 && statusCode < 300;
    if (!this.#success) this.#errorHeaders = headers;
    else if (this.#call.translator === undefined) {
      const contentType = String(headers['content-type'] ?? 'application/json');
      if (contentType.startsWith('text/event-stream')) {
        this.#events = new WholeEvents();
        if (this.#call.hideUsageEvent) this.#filter = new UsageEventFilter();
        this.#endCheck = this.#call.streamEnd?.();
      }
      this.#startSink(contentType);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    if (!this.#success) {
      if (this.#errorBytes < ERROR_BODY_LIMIT) {
        (this.#errorChunks ??= []).push(chunk);
        this.#errorBytes += chunk.length;
      }
      return;
    }
    const { translator } = this.#call;
    if (translator !== undefined) {
      const out = this.#translate(controller, translator, chunk);
      if (out) {
        this.#startSink(translator.contentType);
        this.#forward(controller, Buffer.from(out));
      }
      return;
    }
    const endCheck = this.#endCheck;
    if (this.#call.readUsage !== undefined || endCheck !== undefined) this.#keepForUsage(chunk);
    endCheck?.seen?.(chunk);
    const whole = this.#events === undefined ? chunk : this.#events.push(chunk);
    if (whole.length === 0) return;
    const forwarded = this.#filter === undefined ? whole : this.#filter.push(whole);
    if (forwarded.length > 0) this.#forward(controller, forwarded);
  }

  onResponseEnd(controller: Dispatcher.DispatchController): void {
    if (this.#settled) return;
    const { sink, translator } = this.#call;
    if (!this.#success) {
      const body = this.#errorChunks === undefined ? '' : Buffer.concat(this.#errorChunks).toString('utf8');
      this.#settle(mapUpstreamError(this.#status, withoutCredentials(body, this.#call), this.#errorHeaders));
      return;
    }
    if (translator !== undefined) {
      const out = this.#translate(controller, translator, undefined);
      if (out === undefined) return;
      this.#startSink(translator.contentType);
      if (out) sink.write(out);
      sink.end(translator.usage);
      this.#settle(translator.usage === undefined ? OK : { kind: 'ok', usage: translator.usage });
      return;
    }
    const end = this.#endCheck?.end(this.#tail ?? NO_BYTES);
    if (end?.kind === 'cut') {
      // Ended cleanly before its final event: cut all the same, as if reset here (an unfinished last event kept back is dropped).
      this.#settle(this.#withUsageSoFar({ kind: 'broken', message: CUT_STREAM_MESSAGE }));
      return;
    }
    // A complete stream whose last event has no blank line after it: passed on as it came.
    const unfinished = this.#events?.flush();
    const rest = this.#filter === undefined || unfinished === undefined ? unfinished : this.#filter.push(unfinished);
    if (rest !== undefined && rest.length > 0) sink.write(rest);
    const usage = this.#tail === undefined ? undefined : this.#call.readUsage?.(this.#tail, this.#head ?? []);
    if (end?.kind === 'failed') {
      // The upstream's own error event ended it, and the caller has it: the answer ends here, failed (its usage recorded by the sink).
      sink.end(usage, end.code);
      this.#settle(UPSTREAM_ERROR_EVENT);
      return;
    }
    sink.end(usage);
    this.#settle(usage === undefined ? OK : { kind: 'ok', usage });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const outcome = failureOutcome(error, this.#started, this.#call.signal.aborted);
    this.#settle(outcome.kind === 'broken' ? this.#withUsageSoFar(outcome) : outcome);
  }

  /**
   * A 2xx answer cut part way still counts what it reported (Anthropic counts the input in
   * `message_start`): the translator's usage, or what the bytes kept for usage hold.
   */
  #withUsageSoFar(outcome: { readonly kind: 'broken'; readonly message: string }): AttemptOutcome {
    const { translator, readUsage } = this.#call;
    const usage =
      translator !== undefined ? translator.usage : this.#tail === undefined ? undefined : readUsage?.(this.#tail, this.#head ?? []);
    return usage === undefined ? outcome : { ...outcome, usage };
  }

  #settle(outcome: AttemptOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    const { abortHooks, signal } = this.#call;
    if (abortHooks !== undefined) abortHooks.remove(this.#onAbort);
    else signal.removeEventListener('abort', this.#onAbort);
    this.#resolve(outcome);
  }

  #startSink(contentType: string): void {
    if (this.#started) return;
    this.#started = true;
    this.#call.sink.start(this.#status, contentType);
  }

  #forward(controller: Dispatcher.DispatchController, bytes: Buffer | string): void {
    if (!this.#call.sink.write(bytes)) {
      controller.pause();
      this.#call.sink.onDrain(this.#resume);
    }
  }

  /** Keeps the answer's first and last bytes, where its usage is. */
  #keepForUsage(chunk: Buffer): void {
    if (this.#headBytes < HEAD_BYTES) {
      (this.#head ??= []).push(chunk);
      this.#headBytes += chunk.length;
    }
    const tail = (this.#tail ??= []);
    tail.push(chunk);
    this.#tailBytes += chunk.length;
    while (tail.length > 1 && this.#tailBytes - (tail[0]?.length ?? 0) >= TAIL_BYTES) this.#tailBytes -= tail.shift()?.length ?? 0;
  }

  /** The translator's output for the next chunk (or the end, without one); undefined once it failed. */
  #translate(controller: Dispatcher.DispatchController, translator: AnswerTranslator, chunk: Buffer | undefined): string | undefined {
    let out: string;
    try {
      out = chunk === undefined ? translator.end() : translator.push(chunk);
    } catch (error) {
      this.#failTranslation(controller, unreadableAnswer(error));
      return undefined;
    }
    if (translator.failure) {
      this.#failTranslation(controller, translator.failure);
      return undefined;
    }
    return out;
  }

  /** A translated answer that turned out to be an error: an error before the first byte, a broken stream after. */
  #failTranslation(controller: Dispatcher.DispatchController, failure: UpstreamErrorOutcome): void {
    this.#settle(this.#started ? this.#withUsageSoFar({ kind: 'broken', message: failure.body.error.message }) : failure);
    controller.abort(new Error('upstream answer failed'));
  }
}

const OK: AttemptOutcome = { kind: 'ok' };
const UPSTREAM_ERROR_EVENT: AttemptOutcome = { kind: 'broken', message: 'The upstream ended its stream with an error event.' };
const NO_BYTES: readonly Buffer[] = [];

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

// Request headers that carry no credential, left as they are in an echoed error.
const NOT_CREDENTIALS = new Set([
  'accept',
  'accept-encoding',
  'anthropic-beta',
  'anthropic-version',
  'content-length',
  'content-type',
  'user-agent',
]);

/**
 * An upstream error body without the credentials this call sent (header values, the key after
 * `Bearer `, keys in the query string): some upstreams and proxies echo the request's headers in
 * their error messages, and the message goes back to the caller.
 */
function withoutCredentials(text: string, call: UpstreamCall): string {
  const credentials: string[] = [];
  for (const [name, value] of Object.entries(call.headers)) {
    if (NOT_CREDENTIALS.has(name.toLowerCase()) || value.length < 8) continue;
    credentials.push(value);
    const scheme = value.indexOf(' ');
    if (scheme !== -1 && value.length - scheme > 8) credentials.push(value.slice(scheme + 1));
  }
  const query = call.path.indexOf('?');
  if (query !== -1) {
    for (const [, value] of new URLSearchParams(call.path.slice(query + 1))) if (value.length >= 8) credentials.push(value);
  }
  return replaceSecrets(text, credentials);
}
