import { formatUsd } from '../observability/pricing.ts';
import type { ResponseSink } from '../providers/types.ts';
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
 * and carries its cost in a trailer of the same name, known only at its end.
 */
export class ClientResponse implements ResponseSink {
  readonly #context: RequestContext;
  #status = 0;
  #contentType = '';
  #held: (Buffer | string)[] | undefined;
  #heldBytes = 0;
  #capturedBytes = 0;

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
      context.res.writeHead(status, {
        ...context.headers,
        'content-type': SSE_CONTENT_TYPE,
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
        trailer: COST_HEADER,
      });
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

  /** The provider is done writing; `complete` sends the rest once the cost is known. */
  end(): void {}

  /** Ends a successful answer: the held JSON with its cost header, or a stream with its cost trailer. */
  complete(): void {
    const context = this.#context;
    const { res, costUsd } = context;
    const held = this.#held;
    if (held === undefined) {
      if (costUsd !== undefined) res.addTrailers({ [COST_HEADER]: formatUsd(costUsd) });
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
    context.res.writeHead(this.#status, { ...context.headers, 'content-type': this.#contentType, trailer: COST_HEADER });
    for (const chunk of held) this.write(chunk);
  }
}

function toBuffer(chunk: Buffer | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}
