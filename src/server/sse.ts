/** The one place that frames Server-Sent Events for OpenAI-style streams. */
export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** A well-formed error event for a stream that cannot go on, in OpenAI's error shape. */
export function sseError(message: string, code = 'upstream_error'): string {
  return sseData({ error: { message, type: 'server_error', param: null, code } });
}
