import type { ResponseSink } from '../providers/types.ts';
import { SSE_CONTENT_TYPE } from '../server/sse.ts';
import type { RequestContext } from './context.ts';

/**
 * The client side of one attempt. Headers are committed with the first body byte, not
 * when the upstream answers 2xx: an upstream that says 200 and dies before sending
 * anything can still be retried or replaced, since the client has seen nothing.
 */
export class DeferredResponse implements ResponseSink {
  readonly #context: RequestContext;
  #status = 200;
  #contentType = 'application/json';
  committed = false;
  /** When the upstream started answering (performance.now()); 0 until then. */
  startedAt = 0;

  constructor(context: RequestContext) {
    this.#context = context;
  }

  start(status: number, contentType: string): void {
    this.startedAt = performance.now();
    this.#status = status;
    this.#contentType = contentType;
  }

  write(chunk: Buffer | string): boolean {
    if (!this.committed) this.#commit();
    return this.#context.res.write(chunk);
  }

  onDrain(resume: () => void): void {
    this.#context.res.once('drain', resume);
  }

  end(): void {
    if (!this.committed) this.#commit();
    this.#context.res.end();
  }

  #commit(): void {
    this.committed = true;
    const context = this.#context;
    const streaming = this.#contentType.startsWith('text/event-stream');
    context.streaming = streaming;
    const headers = streaming
      ? { ...context.headers, 'content-type': SSE_CONTENT_TYPE, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }
      : { ...context.headers, 'content-type': this.#contentType };
    context.res.writeHead(this.#status, headers);
  }
}
