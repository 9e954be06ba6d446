import type { RequestFinished } from './events.ts';
import type { Redactor } from './redaction.ts';
import { Buffer } from 'node:buffer';

export interface RenderedBodies {
  readonly request?: string;
  readonly response?: string;
}

const NONE: RenderedBodies = {};

/**
 * Turns the bodies a request kept into redacted, size-capped text, once per request
 * however many observers (access log, request-log store) ask for them.
 */
export class BodyRenderer {
  readonly #redactor: Redactor;
  readonly #maxBytes: number;
  readonly #rendered = new WeakMap<RequestFinished, RenderedBodies>();

  constructor(redactor: Redactor, maxBytes: number) {
    this.#redactor = redactor;
    this.#maxBytes = maxBytes;
  }

  render(event: RequestFinished): RenderedBodies {
    if (event.bodyCapture === 'off') return NONE;
    const failed = event.status >= 400 || !event.completed || event.errorCode !== undefined;
    if (event.bodyCapture === 'errors' && !failed) return NONE;
    let rendered = this.#rendered.get(event);
    if (rendered === undefined) {
      rendered = this.#renderBoth(event, failed);
      this.#rendered.set(event, rendered);
    }
    return rendered;
  }

  #renderBoth(event: RequestFinished, failed: boolean): RenderedBodies {
    const request =
      event.requestBody === undefined
        ? undefined
        : this.#finish(JSON.stringify(this.#redactor.value(event.requestBody)), event.credentials);
    let response: string | undefined;
    if (failed && event.errorBody !== undefined && event.responseChunks === undefined) {
      response = this.#finish(JSON.stringify(this.#redactor.value(event.errorBody)), event.credentials);
    } else if (event.responseChunks !== undefined) {
      const text = Buffer.concat(event.responseChunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk))).toString(
        'utf8',
      );
      response = this.#finish(event.streaming ? this.#redactStream(text) : this.#redactJson(text), event.credentials);
    }
    return { ...(request === undefined ? {} : { request }), ...(response === undefined ? {} : { response }) };
  }

  #redactJson(text: string): string {
    if (!this.#redactor.hasFields) return text;
    try {
      return JSON.stringify(this.#redactor.value(JSON.parse(text)));
    } catch {
      return text;
    }
  }

  #redactStream(text: string): string {
    if (!this.#redactor.hasFields) return text;
    return text
      .split('\n')
      .map((line) => (line.startsWith('data: {') ? `data: ${this.#redactJson(line.slice(6))}` : line))
      .join('\n');
  }

  #finish(text: string, credentials: readonly string[] | undefined): string {
    const clean = this.#redactor.text(text, credentials);
    if (clean.length <= this.#maxBytes) return clean;
    return `${clean.slice(0, this.#maxBytes)}…[cut ${clean.length - this.#maxBytes} characters]`;
  }
}
