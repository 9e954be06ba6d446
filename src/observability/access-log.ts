import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import pino from 'pino';
import type { BodyRenderer } from './bodies.ts';
import type { RequestFinished } from './events.ts';
import { isoTimeNow } from './iso-time.ts';
import type { Logger, RecordDestination } from './logger.ts';

const round = (ms: number): number => Math.round(ms * 100) / 100;

const INFO = 30;

/**
 * One JSON line per finished request, in the logger's format and through its asynchronous
 * destination (so lines never interleave), handed over as a record that the destination
 * serializes in one JSON.stringify: the line holds only known fields (never headers; bodies
 * come redacted), so pino's per-field serializers and redaction would only cost time on every
 * request. Returns the unsubscribe function.
 */
export function subscribeAccessLog(logger: Logger, bodies: BodyRenderer): () => void {
  if (!logger.isLevelEnabled('info')) return () => {};
  const destination = (logger as unknown as Record<symbol, Partial<RecordDestination> | undefined>)[pino.symbols.streamSym];
  const write = destination?.write?.bind(destination);
  if (write === undefined) throw new Error('the logger has no destination stream');
  const writeRecord: (record: object) => void =
    destination?.writeRecord?.bind(destination) ?? ((record) => write(`${JSON.stringify(record)}\n`));
  const onFinished = (message: unknown): void => {
    const event = message as RequestFinished;
    const { request, response } = bodies.render(event);
    const usage = event.usage;
    writeRecord({
      level: INFO,
      time: isoTimeNow(),
      msg: 'request',
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
      usage,
      cost_usd: event.costUsd,
      cache: event.cache?.status,
      error: event.errorCode,
      mcp: event.mcp,
      completed: event.completed,
      request_body: request,
      response_body: response,
    });
  };
  subscribe('lightport:request:finished', onFinished);
  return () => unsubscribe('lightport:request:finished', onFinished);
}
