import type { RequestContext } from '../pipeline/context.ts';
import { SSE_CONTENT_TYPE } from '../server/sse.ts';
import type { CachedAnswer } from './answer-store.ts';
import { replayAsStream } from './replay.ts';

/** Answers from the cache: the stored chat.completion as JSON, or replayed as an SSE stream. */
export function serveCachedAnswer(
  context: RequestContext,
  answer: CachedAnswer,
  mode: { readonly stream: boolean; readonly includeUsage: boolean },
): void {
  const { res } = context;
  if (answer.usage !== undefined) context.usage = answer.usage;
  if (mode.stream) {
    context.streaming = true;
    res.writeHead(200, { ...context.headers, 'content-type': SSE_CONTENT_TYPE, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.end(replayAsStream(answer.body, mode.includeUsage));
    return;
  }
  res.writeHead(200, { ...context.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
}
