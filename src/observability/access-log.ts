import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { BodyRenderer } from './bodies.ts';
import type { RequestFinished } from './events.ts';
import type { Logger } from './logger.ts';

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** One JSON line per finished request, written asynchronously. Returns the unsubscribe function. */
export function subscribeAccessLog(parent: Logger, bodies: BodyRenderer): () => void {
  if (!parent.isLevelEnabled('info')) return () => {};
  // The line is built here from known fields, never from headers, and bodies come redacted:
  // the logger's header redaction would only cost time on every line.
  const logger = parent.child({}, { redact: [] });
  const onFinished = (message: unknown): void => {
    const event = message as RequestFinished;
    const { request, response } = bodies.render(event);
    const usage = event.usage;
    logger.info(
      {
        request_id: event.requestId,
        method: event.method,
        path: event.path,
        status: event.status,
        key: event.keyName,
        user: event.user,
        model: event.model,
        provider: event.provider,
        target: event.provider === undefined ? undefined : `${event.provider}/${event.upstreamModel ?? ''}`,
        streaming: event.streaming,
        attempts: event.attempts.length,
        duration_ms: round(event.durationMs),
        ttft_ms: event.firstByteMs === undefined ? undefined : round(event.firstByteMs),
        overhead_ms: event.attempts.length === 0 ? undefined : round(Math.max(0, event.durationMs - event.upstreamMs)),
        input_tokens: usage?.prompt_tokens,
        output_tokens: usage?.completion_tokens,
        cached_tokens: usage?.cached_tokens,
        cache_write_tokens: usage?.cache_write_tokens,
        reasoning_tokens: usage?.reasoning_tokens,
        cost_usd: event.costUsd,
        cache: event.cacheStatus,
        error: event.errorCode,
        completed: event.completed,
        request_body: request,
        response_body: response,
      },
      'request',
    );
  };
  subscribe('lightport:request:finished', onFinished);
  return () => unsubscribe('lightport:request:finished', onFinished);
}
