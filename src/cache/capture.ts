import type { ResponseSink } from '../providers/types.ts';
import { assembleStream } from './assemble.ts';

/**
 * Tees a provider's answer on its way to the client, keeping up to `maxBytes`. Past the cap
 * it stops keeping (the answer still flows); `completion()` then gives nothing to store.
 */
export class AnswerCapture {
  readonly #maxBytes: number;
  readonly #chunks: string[] = [];
  #bytes = 0;
  #status = 0;
  #streaming = false;
  #overflow = false;
  #ended = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  wrap(sink: ResponseSink): ResponseSink {
    return {
      start: (status, contentType) => {
        this.#status = status;
        this.#streaming = contentType.startsWith('text/event-stream');
        sink.start(status, contentType);
      },
      write: (chunk) => {
        if (!this.#overflow) this.#keep(chunk);
        return sink.write(chunk);
      },
      onDrain: (resume) => sink.onDrain(resume),
      end: (usage, failure) => {
        this.#ended = failure === undefined;
        sink.end(usage, failure);
      },
    };
  }

  #keep(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.#bytes += text.length;
    if (this.#bytes > this.#maxBytes) {
      this.#overflow = true;
      this.#chunks.length = 0;
      return;
    }
    this.#chunks.push(text);
  }

  /** The whole answer as chat.completion JSON, when it is complete, successful and within the cap. */
  completion(): string | undefined {
    if (!this.#ended || this.#overflow || this.#status !== 200) return undefined;
    const text = this.#chunks.join('');
    if (!this.#streaming) return isCompletion(text) ? text : undefined;
    const assembled = assembleStream(text);
    return assembled === undefined ? undefined : JSON.stringify(assembled);
  }
}

function isCompletion(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as { object?: unknown; choices?: unknown };
    return parsed.object === 'chat.completion' && Array.isArray(parsed.choices);
  } catch {
    return false;
  }
}
