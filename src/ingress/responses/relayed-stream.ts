import { Buffer } from 'node:buffer';
import type { WireFormat } from '../../pipeline/wire-format.ts';
import type { ResponseSink } from '../../providers/types.ts';
import { RESPONSES_FORMAT, responsesStreamError } from './format.ts';

const SEQUENCE_NUMBER = '"sequence_number":';
const SEQUENCE_NUMBER_BYTES = Buffer.from(SEQUENCE_NUMBER);
const ZERO = 0x30;
const NINE = 0x39;
const SPACE = 0x20;

/**
 * One attempt's Responses stream relayed as it is, numbered by the upstream: its sink notes the
 * `sequence_number` of the last event it passes on (the transport passes whole events only), so
 * that the error event the gateway ends the stream with (a cut stream, a deadline, a shutdown)
 * carries the next one, as every Responses streaming event is numbered. One backward search of
 * each chunk, from its end to the last event's number (the key cannot occur inside a JSON string,
 * where quotes are escaped).
 */
export class RelayedResponseStream {
  /** The number the next event gets: one after the last passed on. */
  #next = 0;

  /** The request's error format while this attempt answers: stream errors numbered next. */
  readonly format: WireFormat = {
    errorBody: RESPONSES_FORMAT.errorBody,
    streamError: (message, code) => responsesStreamError(message, code, this.#next),
  };

  /** The sink that passes the relayed answer on, noting the numbers. */
  sink(sink: ResponseSink): ResponseSink {
    return {
      start: (status, contentType) => sink.start(status, contentType),
      write: (chunk) => {
        const last = typeof chunk === 'string' ? numberInText(chunk) : numberInBytes(chunk);
        if (last >= this.#next) this.#next = last + 1;
        return sink.write(chunk);
      },
      onDrain: (resume) => sink.onDrain(resume),
      end: (usage, failure) => sink.end(usage, failure),
    };
  }
}

/** The chunk's last `"sequence_number":` value; -1 when it has none. */
function numberInBytes(chunk: Buffer): number {
  const at = chunk.lastIndexOf(SEQUENCE_NUMBER_BYTES);
  if (at === -1) return -1;
  let index = at + SEQUENCE_NUMBER_BYTES.length;
  while (chunk[index] === SPACE) index++;
  let value = -1;
  for (let code = chunk[index]; code !== undefined && code >= ZERO && code <= NINE; code = chunk[++index])
    value = (value === -1 ? 0 : value * 10) + code - ZERO;
  return value;
}

/** The text's last `"sequence_number":` value; -1 when it has none. */
function numberInText(text: string): number {
  const at = text.lastIndexOf(SEQUENCE_NUMBER);
  if (at === -1) return -1;
  let index = at + SEQUENCE_NUMBER.length;
  while (text.charCodeAt(index) === SPACE) index++;
  let value = -1;
  // (charCodeAt past the end is NaN, which is no digit.)
  for (let code = text.charCodeAt(index); code >= ZERO && code <= NINE; code = text.charCodeAt(++index))
    value = (value === -1 ? 0 : value * 10) + code - ZERO;
  return value;
}
