import type { ResponseSink } from '../../providers/types.ts';

/** The response id, as the first bytes of a Response (or of `response.created`) carry it. */
const RESPONSE_ID = /"id"\s*:\s*"(resp_[^"]+)"/;

/** Passes a relayed answer through untouched, noting the response id from its first bytes. */
export function recordingResponseId(sink: ResponseSink, remember: (id: string) => void): ResponseSink {
  let head = '';
  let found = false;
  return {
    start: (status, contentType) => sink.start(status, contentType),
    write(chunk) {
      if (!found && head.length < 4096) {
        head += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
        const match = RESPONSE_ID.exec(head);
        if (match?.[1]) {
          found = true;
          remember(match[1]);
        }
      }
      return sink.write(chunk);
    },
    onDrain: (resume) => sink.onDrain(resume),
    end: (usage, failure) => sink.end(usage, failure),
  };
}
