import { costOf, formatUsd } from '../observability/pricing.ts';
import type { ResponseSink, TokenUsage } from '../providers/types.ts';
import { SSE_CONTENT_TYPE } from '../server/sse.ts';
import type { RequestContext } from './context.ts';
import { requestHeader } from '../server/request-headers.ts';
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';

export const COST_HEADER = 'x-lightport-cost-usd';

/** A JSON answer larger than this goes out as it arrives, its cost in a trailer instead of a header. */
const HOLD_LIMIT = 1024 * 1024;
/** Most bytes of a streamed answer kept for body logging (logs cut bodies far shorter anyway). */
const CAPTURE_LIMIT = 1024 * 1024;

/**
 * The client side of one attempt. Headers are committed with the first body byte of a
 * stream, not when the upstream answers 2xx: an upstream that says 200 and dies before
 * sending anything can still be retried or replaced, since the client has seen nothing.
 * A JSON answer is held until it is complete (a client cannot use half of one; one that
 * breaks can still be retried), then sent with its length and its cost in
 * `x-lightport-cost-usd`. A stream carries its cost, known only at its end, in a trailer
 * of the same name when the caller accepts trailers (`TE: trailers`; a trailer costs one
 * more write per stream, so only callers who ask get one).
 */
export class DeferredResponse implements ResponseSink {
  readonly #context: RequestContext;
  #status = 200;
  #contentType = 'application/json';
  committed = false;
  /** When the upstream started answering (performance.now()); 0 until then. */
  startedAt = 0;
  /** The code of the error event the answer ended with instead of its end (see `end`); the attempt failed. */
  failure: string | undefined;
  #held: (Buffer | string)[] | undefined;
  #heldBytes = 0;
  #capturedBytes = 0;
  #trailer = false;
  #completed = false;

  constructor(context: RequestContext) {
    this.#context = context;
  }

  start(status: number, contentType: string): void {
    this.startedAt = performance.now();
    this.#status = status;
    this.#contentType = contentType;
    if (this.#context.bodyCapture === 'full') this.#context.responseChunks = [];
    if (!contentType.startsWith('text/event-stream')) this.#held = [];
  }

  write(chunk: Buffer | string): boolean {
    const held = this.#held;
    if (held !== undefined) {
      held.push(chunk);
      this.#heldBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      if (this.#heldBytes > HOLD_LIMIT) this.#release();
      return true;
    }
    if (!this.committed) this.#commit();
    const context = this.#context;
    context.firstByteAt ??= performance.now();
    if (context.responseChunks !== undefined && this.#capturedBytes < CAPTURE_LIMIT) {
      context.responseChunks.push(chunk);
      this.#capturedBytes += chunk.length;
    }
    return context.res.write(chunk);
  }

  onDrain(resume: () => void): void {
    this.#context.res.once('drain', resume);
  }

  /**
   * The provider is done writing: with the usage known, the answer ends now (same tick, same
   * write); else when the outcome says. A stream that ended with an error event (`failure`) ends
   * now: nothing more is sent, and the attempt is a failure of its target whatever its outcome.
   */
  end(usage?: TokenUsage, failure?: string): void {
    if (failure !== undefined) {
      this.failure = failure;
      this.#context.errorCode = failure;
      this.complete(usage);
    } else if (usage !== undefined) this.complete(usage);
  }

  /** Ends a successful answer (once): the held JSON with its cost header, or a stream with its cost trailer. */
  complete(usage: TokenUsage | undefined): void {
    if (this.#completed) return;
    this.#completed = true;
    const context = this.#context;
    if (usage !== undefined) this.record(usage);
    const held = this.#held;
    if (held === undefined) {
      if (!this.committed) this.#commit();
      if (context.costUsd !== undefined && this.#trailer) context.res.addTrailers({ [COST_HEADER]: formatUsd(context.costUsd) });
      context.res.end();
      return;
    }
    this.#held = undefined;
    const body = held.length === 1 ? (held[0] as Buffer | string) : Buffer.concat(held.map(toBuffer), this.#heldBytes);
    // The request's own headers object: nothing is sent with it after this answer.
    const headers = context.headers;
    headers['content-type'] = this.#contentType;
    headers['content-length'] = String(this.#heldBytes);
    if (context.costUsd !== undefined) headers[COST_HEADER] = formatUsd(context.costUsd);
    this.committed = true;
    context.streaming = false;
    context.res.writeHead(this.#status, headers);
    context.firstByteAt = performance.now();
    if (context.responseChunks !== undefined) context.responseChunks.push(body);
    context.res.end(body);
  }

  /** The answer's usage and its cost, on the request: a complete answer's, or what a stream cut part way had reported. */
  record(usage: TokenUsage): void {
    const context = this.#context;
    context.usage = usage;
    if (context.price) context.costUsd = costOf(usage, context.price);
  }

  #commit(): void {
    this.committed = true;
    const context = this.#context;
    const streaming = this.#contentType.startsWith('text/event-stream');
    context.streaming = streaming;
    const headers = context.headers;
    if (streaming) {
      headers['content-type'] = SSE_CONTENT_TYPE;
      headers['cache-control'] = 'no-cache';
      headers['x-accel-buffering'] = 'no';
    } else headers['content-type'] = this.#contentType;
    if (this.#acceptsTrailer()) headers['trailer'] = COST_HEADER;
    context.res.writeHead(this.#status, headers);
  }

  /** Too large to hold: from here on the answer streams, and its cost goes in a trailer. */
  #release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const chunk of held) this.write(chunk);
  }

  #acceptsTrailer(): boolean {
    const te = requestHeader(this.#context.req, 'te');
    this.#trailer = te !== undefined && /\btrailers\b/i.test(te);
    return this.#trailer;
  }
}

function toBuffer(chunk: Buffer | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}
