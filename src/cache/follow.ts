import type { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import type { RequestContext } from '../pipeline/context.ts';
import { finish } from '../pipeline/finish.ts';
import { openAIUsage } from '../providers/translate/openai-output.ts';
import type { TokenUsage } from '../providers/types.ts';
import { SSE_CONTENT_TYPE, sseData } from '../server/sse.ts';
import type { Follower, LiveStream, StreamEnding } from './coalesce.ts';

/** The end of one event: a blank line. */
const EVENT_END = /\r\n\r\n|\n\n|\r\r/g;
const DONE_EVENT = /^data: ?\[DONE\]\s*$/;
/** A usage object in an event; the patterns cannot occur inside JSON strings, whose quotes are escaped. */
const USAGE = '"usage":{';
const NO_CHOICES = '"choices":[]';

/**
 * One waiting request's response, following the leader's chat.completion.chunk stream live: what
 * the leader's client got, event by event, shaped for this request's own `stream_options`: the
 * usage-only chunk only when it asked for usage (made from the upstream's usage when the leader's
 * stream had none), `[DONE]` kept back until the leader's answer is known to be complete. It ends
 * as the leader's stream does: complete; with the upstream's own error event (passed on with the
 * rest); or, when the stream was cut or failed, with the same error event the leader's caller
 * gets. Its own client leaving, or its deadline passing, ends only this response.
 *
 * Writes do not wait for a slow client: what one holds is bounded by the answer, as a replayed hit's is.
 */
export class StreamFollower implements Follower {
  readonly #context: RequestContext;
  readonly #stream: LiveStream;
  readonly #includeUsage: boolean;
  readonly #decoder = new StringDecoder('utf8');
  /** The text after the last complete event. */
  #pending = '';
  #started = false;
  #finished = false;
  #sawUsage = false;
  /** The stream's `[DONE]`, sent only once it is known to be complete. */
  #done: string | undefined = undefined;
  /** The first data event, whose id, created and model a made usage chunk carries. */
  #head: string | undefined = undefined;
  #resolve: () => void = () => undefined;
  /** Resolves when this response has ended, however it ended. */
  readonly ended: Promise<void>;

  constructor(context: RequestContext, stream: LiveStream, includeUsage: boolean) {
    this.#context = context;
    this.#stream = stream;
    this.#includeUsage = includeUsage;
    this.ended = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** Joins the stream (one that is `joinable`); false (nothing sent) when it cannot be followed. */
  follow(): boolean {
    this.#context.abort.add(this.#onAbort);
    if (this.#stream.follow(this)) return true;
    this.#context.abort.remove(this.#onAbort);
    return false;
  }

  catchUp(chunks: readonly (Buffer | string)[]): void {
    let out = '';
    for (const chunk of chunks) out += this.#take(chunk);
    this.#write(out);
  }

  data(chunk: Buffer | string): void {
    if (!this.#finished) this.#write(this.#take(chunk));
  }

  end(ending: StreamEnding): void {
    if (this.#finished) return;
    this.#finish();
    const context = this.#context;
    if (!this.#started) this.#start();
    const rest = this.#pending + this.#decoder.end();
    switch (ending.kind) {
      case 'complete': {
        let out = rest;
        const usage = ending.usage;
        if (usage !== undefined) context.usage = usage;
        if (this.#includeUsage && !this.#sawUsage && usage !== undefined) out += this.#usageChunk(usage);
        if (this.#done !== undefined) out += this.#done;
        context.res.end(out);
        return;
      }
      case 'failed':
        // Its error event went with the rest.
        context.errorCode = ending.code;
        context.res.end(rest);
        return;
      case 'broken':
        // An unfinished last event is left out: the error event that ends the stream is whole.
        finish(context, { kind: 'broken', message: ending.message });
        return;
    }
  }

  /** This request's client left, or its deadline passed: it stops following, and ends as any request does then. */
  readonly #onAbort = (): void => {
    if (this.#finished) return;
    this.#stream.unfollow(this);
    this.#finish();
    finish(this.#context, { kind: 'cancelled' });
  };

  #finish(): void {
    this.#finished = true;
    this.#context.abort.remove(this.#onAbort);
    this.#resolve();
  }

  /** The text to send for one chunk: its complete events, each passed on, kept back or left out. */
  #take(chunk: Buffer | string): string {
    const text = this.#pending + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
    let out = '';
    let from = 0;
    EVENT_END.lastIndex = 0;
    for (let match = EVENT_END.exec(text); match !== null; match = EVENT_END.exec(text)) {
      const end = match.index + match[0].length;
      out += this.#pass(text.slice(from, end));
      from = end;
    }
    this.#pending = from === 0 ? text : text.slice(from);
    return out;
  }

  #pass(event: string): string {
    if (DONE_EVENT.test(event)) {
      this.#done = event;
      return '';
    }
    if (event.includes(USAGE)) {
      this.#sawUsage = true;
      if (!this.#includeUsage && event.includes(NO_CHOICES)) return '';
    }
    if (this.#head === undefined && event.startsWith('data: {')) this.#head = event;
    return event;
  }

  #write(out: string): void {
    if (!this.#started) this.#start();
    if (out === '') return;
    const context = this.#context;
    context.firstByteAt ??= performance.now();
    context.res.write(out);
  }

  /** The response's head: a stream, as a replayed hit's (its cache status was set before it joined). */
  #start(): void {
    this.#started = true;
    const context = this.#context;
    context.streaming = true;
    const headers = context.headers;
    headers['content-type'] = SSE_CONTENT_TYPE;
    headers['cache-control'] = 'no-cache';
    headers['x-accel-buffering'] = 'no';
    context.res.writeHead(200, headers);
  }

  /** A usage-only chunk, as OpenAI sends when asked, for a stream whose leader did not ask. */
  #usageChunk(usage: TokenUsage): string {
    let head: { id?: unknown; created?: unknown; model?: unknown; system_fingerprint?: unknown } = {};
    try {
      head = JSON.parse(this.#head?.slice(this.#head.indexOf('{')) ?? '{}') as typeof head;
    } catch {
      // A first event not whole on its own line: the chunk goes without them.
    }
    return sseData({
      id: head.id,
      object: 'chat.completion.chunk',
      created: head.created,
      model: head.model,
      ...(head.system_fingerprint === undefined ? {} : { system_fingerprint: head.system_fingerprint }),
      choices: [],
      usage: openAIUsage(usage),
    });
  }
}
