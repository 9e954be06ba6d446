import { Buffer } from 'node:buffer';
import { createParser } from 'eventsource-parser';
import { isRecord } from './translate/request-parts.ts';
import type { RelayRequest } from './types.ts';

/** How a stream passed on unparsed ended. */
export type StreamEnd =
  | { readonly kind: 'complete' }
  /** With an error event of the upstream's own, which the caller got as it is; `code`, that error's code (or type). */
  | { readonly kind: 'failed'; readonly code: string }
  /** Before its final event, however cleanly the connection closed. */
  | { readonly kind: 'cut' };

/**
 * Reads whether one stream passed on unparsed reached its final event, once, from its last bytes
 * (those the transport keeps for usage).
 */
export interface StreamEndCheck {
  /** Each chunk as it passes: only for a format whose final event may be longer than those last bytes (the Responses API's). */
  seen?(chunk: Buffer): void;
  end(tail: readonly Buffer[]): StreamEnd;
}

/** The check for one stream (a shared one when it keeps no state). */
export type StreamEndChecks = () => StreamEndCheck;

const COMPLETE: StreamEnd = { kind: 'complete' };
const CUT: StreamEnd = { kind: 'cut' };
const UPSTREAM_ERROR = 'upstream_error';

const DONE = /(?:^|[\r\n])data: ?\[DONE\]\s*$/;

/**
 * An OpenAI-format stream (chat or legacy completions) is complete with `data: [DONE]` as its
 * last event or, for servers that never send it, with a finish_reason on every choice its last
 * bytes show (at least one); one whose last event is `{"error":{...}}` failed. Only a stream
 * without [DONE] is parsed, and only its last bytes.
 */
const OPENAI_CHECK: StreamEndCheck = {
  end(tail) {
    if (DONE.test(lastBytes(tail, 32))) return COMPLETE;
    const started = new Set<number>();
    const finished = new Set<number>();
    let last: unknown;
    // [DONE] last, but for keep-alive comments after it (which the parser passes over).
    let done = false;
    readEvents(tail, (_name, data) => {
      done = data === '[DONE]';
      last = parsed(data);
      const choices = isRecord(last) && Array.isArray(last['choices']) ? last['choices'] : [];
      for (const choice of choices) {
        if (!isRecord(choice)) continue;
        const index = typeof choice['index'] === 'number' ? choice['index'] : 0;
        started.add(index);
        if (choice['finish_reason'] !== undefined && choice['finish_reason'] !== null) finished.add(index);
      }
    });
    if (done) return COMPLETE;
    if (isRecord(last) && isRecord(last['error'])) return failed(last['error']['code'], last['error']['type']);
    return finished.size > 0 && finished.size === started.size ? COMPLETE : CUT;
  },
};

const MESSAGE_STOP = /(?:^|[\r\n])event: ?message_stop[\r\n]|"type": ?"message_stop"/;

/**
 * An Anthropic Messages stream is complete once `message_stop` came; one that ends with an `error`
 * event failed. Its last bytes are parsed only when they do not end with a short `message_stop`
 * (one with more fields, or keep-alive comments after it).
 */
const ANTHROPIC_CHECK: StreamEndCheck = {
  end(tail) {
    if (MESSAGE_STOP.test(lastBytes(tail, 256))) return COMPLETE;
    let last: { name: string | undefined; data: unknown } | undefined;
    readEvents(tail, (name, data) => (last = { name, data: parsed(data) }));
    if (last === undefined) return CUT;
    const { name, data } = last;
    if (name === 'message_stop' || (isRecord(data) && data['type'] === 'message_stop')) return COMPLETE;
    if (name !== 'error' && !(isRecord(data) && data['type'] === 'error')) return CUT;
    return failed(isRecord(data) && isRecord(data['error']) ? data['error']['type'] : undefined);
  },
};

export const openAIStreamEnd: StreamEndChecks = () => OPENAI_CHECK;
export const anthropicStreamEnd: StreamEndChecks = () => ANTHROPIC_CHECK;
export const responsesStreamEnd: StreamEndChecks = () => new ResponsesStreamEnd();

/** The end check for a relayed request's stream: each native API's own. */
export function relayStreamEnd(request: RelayRequest): { streamEnd?: StreamEndChecks } {
  if (!request.stream) return {};
  switch (request.api) {
    case 'openai-completions':
      return { streamEnd: openAIStreamEnd };
    case 'anthropic-messages':
      return { streamEnd: anthropicStreamEnd };
    case 'openai-responses':
      return { streamEnd: responsesStreamEnd };
  }
}

const RESPONSE_ENDS = new Set(['response.completed', 'response.incomplete']);
/** How many of the last event's first bytes are kept: enough for its `event:` line, or its data's leading `"type"`. */
const EVENT_HEAD = 96;
const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
/** `lastEventStart`: the chunk continues the latest event; only keep-alive comments begin in it. */
const CONTINUES = -1;
const ONLY_COMMENTS = -2;
const BLANK_LINE = /\n\r?\n|\r\r/;
const EVENT_NAME = /^event: ?([^\r\n]*)/m;
const DATA_TYPE = /^data: ?\{"type": ?"([^"]*)"/m;

/**
 * A Responses stream is complete with `response.completed` or `response.incomplete` as its last
 * (whole) event; one that ends with `response.failed` or `error` failed. Those final events hold
 * the whole response, often longer than the last bytes kept, so the first bytes of the latest
 * event to begin are noted as chunks pass (two native searches per chunk), its name read at the end.
 * Keep-alive comments after an event begin no event.
 */
class ResponsesStreamEnd implements StreamEndCheck {
  /** The first bytes (latin1) of the last event that has begun. */
  #head = '';
  /** The line breaks the bytes so far end with (at most four); a stream begins with an event. */
  #breaks = '\n\n';

  seen(chunk: Buffer): void {
    let end = chunk.length;
    while (end > 0 && isBreak(chunk[end - 1])) end--;
    if (end === 0) {
      this.#breaks = (this.#breaks + chunk.toString('latin1')).slice(-4);
      return;
    }
    let lead = 0;
    while (isBreak(chunk[lead])) lead++;
    const startsEvent = BLANK_LINE.test(this.#breaks + chunk.toString('latin1', 0, Math.min(lead, 4)));
    const from = lastEventStart(chunk, startsEvent ? lead : CONTINUES, end);
    if (from >= 0) this.#head = chunk.toString('latin1', from, Math.min(end, from + EVENT_HEAD));
    else if (from === CONTINUES && this.#head.length < EVENT_HEAD)
      this.#head = (this.#head + this.#breaks + chunk.toString('latin1', 0, end)).slice(0, EVENT_HEAD);
    this.#breaks = chunk.toString('latin1', end).slice(-4);
  }

  end(tail: readonly Buffer[]): StreamEnd {
    // An event the stream ends in the middle of, before its blank line, is never dispatched (WHATWG's SSE).
    if (!BLANK_LINE.test(this.#breaks)) return CUT;
    const name = EVENT_NAME.exec(this.#head)?.[1] ?? DATA_TYPE.exec(this.#head)?.[1];
    if (name !== undefined && RESPONSE_ENDS.has(name)) return COMPLETE;
    if (name !== 'error' && name !== 'response.failed') return CUT;
    // The error's code when the event is whole in the last bytes: an `error` event's own, or the failed response's.
    let data: unknown;
    readEvents(tail, (_name, text) => (data = parsed(text)));
    const error = isRecord(data) && isRecord(data['response']) ? data['response']['error'] : data;
    return failed(isRecord(error) ? error['code'] : undefined);
  }
}

function isBreak(byte: number | undefined): boolean {
  return byte === LF || byte === CR;
}

/**
 * Where the latest event to begin in the chunk begins, passing over keep-alives (events of comment
 * lines only, which are dispatched as nothing): `first`, where the chunk's first event begins when
 * an earlier blank line ended the one before (else CONTINUES); ONLY_COMMENTS when all that begins
 * in the chunk is keep-alives.
 */
function lastEventStart(chunk: Buffer, first: number, end: number): number {
  let from = blankLineEnd(chunk, end);
  while (from !== -1 && onlyComments(chunk, from, end)) from = blankLineEnd(chunk, from - (chunk[from - 2] === CR ? 3 : 2));
  if (from !== -1) return from;
  if (first === CONTINUES) return CONTINUES;
  return onlyComments(chunk, first, end) ? ONLY_COMMENTS : first;
}

/** Whether the event that begins at `from` has only comment lines, up to its blank line or `end`. */
function onlyComments(chunk: Buffer, from: number, end: number): boolean {
  for (let at = from; at < end;) {
    if (chunk[at] !== COLON) return false;
    const lf = chunk.indexOf(LF, at);
    if (lf === -1 || lf >= end) return true;
    at = lf + 1;
    if (chunk[at] === LF || (chunk[at] === CR && chunk[at + 1] === LF)) return true;
  }
  return true;
}

/** Just past the last blank line that ends before `end` (where the chunk's last content byte is); -1 when there is none. */
function blankLineEnd(chunk: Buffer, end: number): number {
  // (A negative offset would search from the chunk's end.)
  if (end < 1) return -1;
  const lf = chunk.lastIndexOf('\n\n', end - 1, 'latin1');
  const crlf = chunk.lastIndexOf('\n\r\n', end - 1, 'latin1');
  return Math.max(lf === -1 ? -1 : lf + 2, crlf === -1 ? -1 : crlf + 3);
}

function failed(code: unknown, type?: unknown): StreamEnd {
  const value = typeof code === 'string' && code !== '' ? code : typeof type === 'string' && type !== '' ? type : UPSTREAM_ERROR;
  return { kind: 'failed', code: value };
}

function parsed(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** Each event of the last bytes, in order; the first, likely cut by the window, is garbled or skipped. */
function readEvents(tail: readonly Buffer[], onEvent: (name: string | undefined, data: string) => void): void {
  const parser = createParser({ onEvent: ({ event, data }) => onEvent(event, data) });
  parser.feed(Buffer.concat(tail).toString('utf8'));
  parser.feed('\n\n');
}

/** The answer's last `count` bytes (all of it when shorter) as latin1 text: one character per byte. */
function lastBytes(tail: readonly Buffer[], count: number): string {
  let text = '';
  for (let at = tail.length - 1; at >= 0 && text.length < count; at--) {
    const chunk = tail[at] as Buffer;
    text = chunk.toString('latin1', Math.max(0, chunk.length - (count - text.length))) + text;
  }
  return text;
}
