import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { RequestFinished } from './events.ts';
import type { Logger } from './logger.ts';

/** One JSON line per finished request. Returns the unsubscribe function. */
export function subscribeAccessLog(logger: Logger): () => void {
  if (!logger.isLevelEnabled('info')) return () => {};
  const onFinished = (message: unknown): void => {
    const event = message as RequestFinished;
    logger.info(
      {
        request_id: event.requestId,
        method: event.method,
        path: event.path,
        status: event.status,
        model: event.model,
        provider: event.provider,
        upstream_model: event.upstreamModel,
        streaming: event.streaming,
        usage: event.usage,
        mcp: event.mcp,
        duration_ms: event.durationMs,
        completed: event.completed,
      },
      'request',
    );
  };
  subscribe('lightport:request:finished', onFinished);
  return () => unsubscribe('lightport:request:finished', onFinished);
}
