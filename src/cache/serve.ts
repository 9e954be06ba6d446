import type { RequestContext } from '../pipeline/context.ts';
import { openAIUsage } from '../providers/translate/openai-output.ts';
import { SSE_CONTENT_TYPE } from '../server/sse.ts';
import type { CachedAnswer } from './answer-store.ts';
import { replayAsStream } from './replay.ts';
import { Buffer } from 'node:buffer';

/** A cached answer as a JSON hit sends it. */
interface JsonBody {
  readonly text: string;
  /** Its length in UTF-8 bytes. */
  readonly bytes: number;
}

/**
 * Each answer's JSON body, made on its first JSON hit: measuring its length means reading the
 * whole body, once per hit otherwise. Kept beside the answer, so it goes when the answer does.
 */
const jsonBodies = new WeakMap<CachedAnswer, JsonBody>();

/** A usage object in the JSON text; the pattern cannot occur inside a JSON string, whose quotes are escaped. */
const USAGE = '"usage":{';

function jsonBodyOf(answer: CachedAnswer): JsonBody {
  let body = jsonBodies.get(answer);
  if (body === undefined) {
    const text = withUsage(answer);
    body = { text, bytes: Buffer.byteLength(text) };
    jsonBodies.set(answer, body);
  }
  return body;
}

/**
 * The stored body, with the usage the upstream reported when it carries none (an answer stored
 * from a stream whose client did not ask for usage, before such answers were stored with it).
 */
function withUsage(answer: CachedAnswer): string {
  const { body, usage } = answer;
  if (usage === undefined || body.includes(USAGE)) return body;
  try {
    const completion = JSON.parse(body) as Record<string, unknown>;
    if (completion['usage'] !== undefined && completion['usage'] !== null) return body;
    completion['usage'] = openAIUsage(usage);
    return JSON.stringify(completion);
  } catch {
    return body;
  }
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
    res.end(replayAsStream(answer.body, mode.includeUsage, answer.usage));
    return;
  }
  const body = jsonBodyOf(answer);
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(body.bytes);
  res.writeHead(200, headers);
  res.end(body.text);
}
