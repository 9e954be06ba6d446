import type { RequestContext } from '../pipeline/context.ts';
import { SSE_CONTENT_TYPE } from '../server/sse.ts';
import type { CachedAnswer } from './answer-store.ts';
import { replayAsStream } from './replay.ts';
import { Buffer } from 'node:buffer';

/**
 * Each answer's body length in UTF-8 bytes, measured on its first hit: measuring means reading
 * the whole body, once per hit otherwise. Kept beside the answer, so it goes when the answer does.
 */
const byteLengths = new WeakMap<CachedAnswer, number>();

function byteLengthOf(answer: CachedAnswer): number {
  let length = byteLengths.get(answer);
  if (length === undefined) {
    length = Buffer.byteLength(answer.body);
    byteLengths.set(answer, length);
  }
  return length;
}

/** Answers from the cache: the stored chat.completion as JSON, or replayed as an SSE stream. */
export function serveCachedAnswer(
  context: RequestContext,
  answer: CachedAnswer,
  mode: { readonly stream: boolean; readonly includeUsage: boolean },
): void {
  const { res } = context;
  if (answer.usage !== undefined) context.usage = answer.usage;
  // The request's own headers object: nothing else is sent with it after this answer.
  const headers = context.headers;
  if (mode.stream) {
    context.streaming = true;
    headers['content-type'] = SSE_CONTENT_TYPE;
    headers['cache-control'] = 'no-cache';
    headers['x-accel-buffering'] = 'no';
    res.writeHead(200, headers);
    res.end(replayAsStream(answer.body, mode.includeUsage));
    return;
  }
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(byteLengthOf(answer));
  res.writeHead(200, headers);
  res.end(answer.body);
}
