import { SSE_CONTENT_TYPE, SSE_DONE, sseData } from '../server/sse.ts';
import type { ResponseSink } from '../providers/types.ts';

/**
 * The client's side of a streamed tool loop: started on the first byte the loop sends,
 * written with backpressure, and carrying progress as SSE comment lines (`: ...`), which
 * every SSE parser ignores.
 */
export class ClientStream {
  readonly #sink: ResponseSink;
  #started = false;
  #roleSent = false;

  constructor(sink: ResponseSink) {
    this.#sink = sink;
  }

  get started(): boolean {
    return this.#started;
  }

  get roleSent(): boolean {
    return this.#roleSent;
  }

  markRoleSent(): void {
    this.#roleSent = true;
  }

  write(text: string): boolean {
    if (!this.#started) {
      this.#started = true;
      this.#sink.start(200, SSE_CONTENT_TYPE);
    }
    return this.#sink.write(text);
  }

  writeChunk(chunk: unknown): boolean {
    return this.write(sseData(chunk));
  }

  comment(text: string): void {
    this.write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  onDrain(resume: () => void): void {
    this.#sink.onDrain(resume);
  }

  end(): void {
    this.write(SSE_DONE);
    this.#sink.end();
  }
}
