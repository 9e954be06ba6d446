import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { McpToolCallFinished } from './events.ts';
import type { Logger } from './logger.ts';

/**
 * One log line per MCP tool call the gateway ran: server, tool, outcome and duration at
 * info; arguments and result only at debug (the level that logs bodies).
 */
export function subscribeMcpLog(logger: Logger): () => void {
  if (!logger.isLevelEnabled('info')) return () => {};
  const withBodies = logger.isLevelEnabled('debug');
  const onCall = (message: unknown): void => {
    const event = message as McpToolCallFinished;
    logger.info(
      {
        request_id: event.requestId,
        mcp_server: event.server,
        tool: event.tool,
        outcome: event.outcome,
        duration_ms: event.durationMs,
        ...(withBodies ? { arguments: event.arguments, result: event.result } : {}),
      },
      'mcp tool call',
    );
  };
  subscribe('lightport:mcp:tool_call:finished', onCall);
  return () => unsubscribe('lightport:mcp:tool_call:finished', onCall);
}
