import { costOf, formatUsd } from '../observability/pricing.ts';
import type { ResponseSink, TokenUsage } from '../providers/types.ts';
import { SSE_CONTENT_TYPE } from '../server/sse.ts';
import type { RequestContext } from './context.ts';

export const COST_HEADER = 'x-lightport-cost-usd';

/** A JSON answer larger than this goes out as it arrives, its cost in a trailer instead of a header. */
const HOLD_LIMIT = 1024 * 1024;
/** Most bytes of a streamed answer kept for body logging (logs cut bodies far shorter anyway). */
const CAPTURE_LIMIT = 1024 * 1024;

/**
 * Where a provider writes a successful answer for the client. A JSON answer is held until
 * it is complete (a client cannot use half of one), so it goes out with its length and
 * its cost in `x-lightport-cost-usd`; a stream goes out chunk by chunk with backpressure
 * and, when the caller accepts trailers (`TE: trailers`), carries its cost in a trailer of
 * the same name, known only at its end. (A trailer costs one more write per stream, so it is
 * sent only to callers who ask.)
 */
export class ClientResponse implements ResponseSink {
  readonly #context: RequestContext;
  #status = 0;
  #contentType = '';
  #held: (Buffer | string)[] | undefined;
  #heldBytes = 0;
  #capturedBytes = 0;
  #trailer = false;
  #completed = false;

  constructor(context: RequestContext) {
    this.#context = context;
  }

  start(status: number, contentType: string): void {
    const context = this.#context;
    this.#status = status;
    this.#contentType = contentType;
    context.streaming = contentType.startsWith('text/event-stream');
    if (context.bodyCapture === 'full') context.responseChunks = [];
    if (context.streaming) {
      const headers: Record<string, string> = {
        ...context.headers,
        'content-type': SSE_CONTENT_TYPE,
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      };
      if (this.#acceptsTrailer()) headers['trailer'] = COST_HEADER;
      context.res.writeHead(status, headers);
    } else {
      this.#held = [];
    }
  }

  write(chunk: Buffer | string): boolean {
    const held = this.#held;
    if (held !== undefined) {
      held.push(chunk);
      this.#heldBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      if (this.#heldBytes > HOLD_LIMIT) this.#release();
      return true;
    }
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

  /** The provider is done writing: with the usage known, the answer ends now; else when the attempt's outcome says. */
  end(usage?: TokenUsage): void {
    if (usage !== undefined) this.complete(usage);
  }

  /** Ends a successful answer (once): the held JSON with its cost header, or a stream with its cost trailer. */
  complete(usage: TokenUsage | undefined): void {
    if (this.#completed) return;
    this.#completed = true;
    const context = this.#context;
    if (usage !== undefined) {
      context.usage = usage;
      if (context.price) context.costUsd = costOf(usage, context.price);
    }
    const { res, costUsd } = context;
    const held = this.#held;
    if (held === undefined) {
      if (costUsd !== undefined && this.#trailer) res.addTrailers({ [COST_HEADER]: formatUsd(costUsd) });
      res.end();
      return;
    }
    this.#held = undefined;
    const body = held.length === 1 ? (held[0] as Buffer | string) : Buffer.concat(held.map(toBuffer), this.#heldBytes);
    const headers: Record<string, string | number> = {
      ...context.headers,
      'content-type': this.#contentType,
      'content-length': this.#heldBytes,
    };
    if (costUsd !== undefined) headers[COST_HEADER] = formatUsd(costUsd);
    res.writeHead(this.#status, headers);
    context.firstByteAt = performance.now();
    if (context.responseChunks) context.responseChunks.push(body);
    res.end(body);
  }

  /** Too large to hold: from here on the answer streams, and its cost goes in a trailer. */
  #release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    const context = this.#context;
    const headers: Record<string, string> = { ...context.headers, 'content-type': this.#contentType };
    if (this.#acceptsTrailer()) headers['trailer'] = COST_HEADER;
    context.res.writeHead(this.#status, headers);
    for (const chunk of held) this.write(chunk);
  }

  #acceptsTrailer(): boolean {
    const te = this.#context.req.headers['te'];
    this.#trailer = typeof te === 'string' && /\btrailers\b/i.test(te);
    return this.#trailer;
  }
}

function toBuffer(chunk: Buffer | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}
