import { Buffer } from 'node:buffer';
import { openAIUsage } from '../providers/translate/openai-output.ts';
import type { ResponseSink, TokenUsage } from '../providers/types.ts';
import { assembleStream } from './assemble.ts';

/** Told when a captured answer starts going out as an event stream (the coalescing leader's, which identical requests may follow live). */
export interface StreamWatch {
  /** The first bytes of a 200 event stream went out; `capture` holds them (and the rest as they come). */
  began(capture: AnswerCapture): void;
  /** What went out passed the cap: the answer will not be stored. */
  passedCap(capture: AnswerCapture): void;
}

/**
 * Tees a provider's answer on its way to the client, keeping up to `maxBytes` of it as it came
 * (decoded only at the end, so a character split across two chunks is kept whole). Past the cap
 * it stops keeping (the answer still flows); `completion()` then gives nothing to store. A streamed
 * answer's chunks may also be relayed, as they pass, to requests that follow it live, and go on
 * being kept and relayed once its own client has left (`detach`).
 */
export class AnswerCapture {
  readonly #maxBytes: number;
  readonly #watch: StreamWatch | undefined;
  readonly #chunks: (Buffer | string)[] = [];
  #bytes = 0;
  #status = 0;
  #streaming = false;
  #overflow = false;
  #ended = false;
  #began = false;
  /** Set once a request follows this answer live: each chunk goes to it as it passes. */
  #relay: ((chunk: Buffer | string) => void) | undefined = undefined;
  /** Where the answer goes: the client's sink, until `detach`. */
  #out: ResponseSink = DISCARD;
  /** The upstream's resume while it waits for the client to drain. */
  #paused: (() => void) | undefined = undefined;
  /** The code of the error event the answer ended with, if it did (`ResponseSink.end`). */
  failure: string | undefined = undefined;

  constructor(maxBytes: number, watch?: StreamWatch) {
    this.#maxBytes = maxBytes;
    this.#watch = watch;
  }

  wrap(sink: ResponseSink): ResponseSink {
    this.#out = sink;
    return {
      start: (status, contentType) => {
        this.#status = status;
        this.#streaming = contentType.startsWith('text/event-stream');
        this.#out.start(status, contentType);
      },
      write: (chunk) => {
        if (!this.#overflow) this.#keep(chunk);
        if (this.#relay !== undefined) this.#relay(chunk);
        else if (!this.#began) this.#begin();
        return this.#out.write(chunk);
      },
      onDrain: (resume) => {
        this.#paused = resume;
        this.#out.onDrain(() => {
          if (this.#paused !== resume) return; // resumed already, by `detach`
          this.#paused = undefined;
          resume();
        });
      },
      end: (usage, failure) => {
        this.#ended = failure === undefined;
        this.failure = failure;
        this.#out.end(usage, failure);
      },
    };
  }

  /**
   * The client left, while others follow the answer: nothing more is written to it, and the
   * upstream, if it waited for that client to drain, goes on. The answer is still kept and relayed.
   */
  detach(): void {
    this.#out = DISCARD;
    const resume = this.#paused;
    this.#paused = undefined;
    resume?.();
  }

  /** What went out so far, chunk by chunk; undefined once past the cap (no longer kept). The array grows as the answer does. */
  sent(): readonly (Buffer | string)[] | undefined {
    return this.#overflow ? undefined : this.#chunks;
  }

  /** Relays each chunk from here on (one relay: the coalescing leader's, which passes them to its followers). */
  relayTo(relay: (chunk: Buffer | string) => void): void {
    this.#relay = relay;
  }

  #begin(): void {
    this.#began = true;
    if (this.#watch !== undefined && this.#streaming && this.#status === 200) this.#watch.began(this);
  }

  #keep(chunk: Buffer | string): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.#maxBytes) {
      this.#overflow = true;
      this.#chunks.length = 0;
      this.#watch?.passedCap(this);
      return;
    }
    this.#chunks.push(chunk);
  }

  /**
   * The whole answer as chat.completion JSON, when it is complete, successful and within the cap.
   * `usage`, as the upstream reported it, is put in a streamed answer that carried none (its
   * client did not ask for the usage chunk), so that every hit can tell it.
   */
  completion(usage?: TokenUsage): string | undefined {
    if (!this.#ended || this.#overflow || this.#status !== 200) return undefined;
    const text = textOf(this.#chunks);
    if (!this.#streaming) return isCompletion(text) ? text : undefined;
    const assembled = assembleStream(text);
    if (assembled === undefined) return undefined;
    if (assembled['usage'] === undefined && usage !== undefined) assembled['usage'] = openAIUsage(usage);
    return JSON.stringify(assembled);
  }
}

/** Where a detached answer goes: nowhere, at once. */
const DISCARD: ResponseSink = {
  start: () => undefined,
  write: () => true,
  onDrain: (resume) => resume(),
  end: () => undefined,
};

/** Chunks as one text; bytes are decoded together, so a multi-byte character split across two chunks comes out whole. */
export function textOf(chunks: readonly (Buffer | string)[]): string {
  if (chunks.every((chunk) => typeof chunk === 'string')) return chunks.join('');
  return Buffer.concat(chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk))).toString('utf8');
}

function isCompletion(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as { object?: unknown; choices?: unknown };
    return parsed.object === 'chat.completion' && Array.isArray(parsed.choices);
  } catch {
    return false;
  }
}
