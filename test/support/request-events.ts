import type { RequestFinished } from '../../src/observability/events.ts';

/** A finished chat request as the pipeline publishes it, with the fields a test cares about replaced. */
export function finishedRequest(overrides: Partial<RequestFinished> = {}): RequestFinished {
  return {
    requestId: 'r',
    method: 'POST',
    path: '/v1/chat/completions',
    status: 200,
    completed: true,
    streaming: false,
    startedAt: Date.now(),
    durationMs: 5,
    upstreamMs: 3,
    attempts: [],
    bodyCapture: 'off',
    ...overrides,
  };
}
