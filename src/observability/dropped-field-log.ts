import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { FieldDropped } from './events.ts';
import type { Logger } from './logger.ts';

/**
 * One debug line per request field the gateway dropped because the upstream has no part for it
 * (Anthropic's `top_k` sent to an OpenAI-format provider), or for the reason the event gives: the
 * field's name, never its value.
 */
export function subscribeDroppedFieldLog(logger: Logger): () => void {
  if (!logger.isLevelEnabled('debug')) return () => {};
  const onDropped = (message: unknown): void => {
    const event = message as FieldDropped;
    if (event.reason !== undefined) {
      logger.debug(
        { request_id: event.requestId, provider: event.provider, field: event.field, reason: event.reason },
        'request field dropped',
      );
      return;
    }
    logger.debug(
      { request_id: event.requestId, provider: event.provider, field: event.field },
      'request field dropped: the provider has no equivalent',
    );
  };
  subscribe('lightport:request:field_dropped', onDropped);
  return () => unsubscribe('lightport:request:field_dropped', onDropped);
}
