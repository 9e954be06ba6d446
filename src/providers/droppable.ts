import { fieldDropped, type FieldDropped } from '../observability/events.ts';
import type { AttemptOptions, ChatRequest } from './types.ts';

/** What one upstream takes of the fields a caller's API lets the gateway drop: its name (for the log) and those fields it accepts. */
export interface DroppableFieldsTaken {
  readonly name: string;
  readonly accepted: ReadonlySet<string>;
}

/**
 * The request without the fields its caller's API lets the gateway drop (`options.droppable`:
 * Anthropic's `top_k` and thinking budget, from /v1/messages; the reasoning effort, from /v1/responses)
 * that this upstream does not accept.
 * Each field dropped is published, by name, for the debug log; the request is copied only then.
 */
export function withoutUnaccepted(request: ChatRequest, options: AttemptOptions, upstream: DroppableFieldsTaken): ChatRequest {
  const { droppable } = options;
  if (droppable === undefined) return request;
  let kept = request;
  for (const field of droppable) {
    if (kept[field] === undefined || upstream.accepted.has(field)) continue;
    if (kept === request) kept = { ...request };
    delete kept[field];
    if (fieldDropped.hasSubscribers) {
      fieldDropped.publish({ requestId: options.requestId, provider: upstream.name, field } satisfies FieldDropped);
    }
  }
  return kept;
}
