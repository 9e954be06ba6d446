import { fieldDropped, type FieldDropped } from '../observability/events.ts';
import type { AttemptOptions, ChatMessage, ChatRequest } from './types.ts';

/** What one upstream takes of the fields a caller's API lets the gateway drop: its name (for the log) and those fields it accepts. */
export interface DroppableFieldsTaken {
  readonly name: string;
  readonly accepted: ReadonlySet<string>;
}

/**
 * Droppable fields that only refine another one, by the field they refine: `thinking`, Anthropic's
 * own object with a Messages caller's exact budget, beside that budget as `reasoning_effort`.
 * Dropped where the upstream does not take it, it is reported only when the request has no such
 * field, whose own fate (sent, or dropped and reported) says what became of the setting.
 */
const REFINES: ReadonlyMap<string, string> = new Map([['thinking', 'reasoning_effort']]);

/** Droppable fields of the messages rather than the request: `thinking_blocks`, an earlier assistant turn's signed reasoning. */
const MESSAGE_FIELDS: ReadonlySet<string> = new Set(['thinking_blocks']);

/**
 * The request without the fields its caller's API lets the gateway drop (`options.droppable`:
 * Anthropic's `top_k`, thinking budget and earlier turns' thinking blocks, from /v1/messages; the
 * reasoning effort, from /v1/responses) that this upstream does not accept.
 * Each field dropped is published, by name, for the debug log (see REFINES); the request is copied only then.
 */
export function withoutUnaccepted(request: ChatRequest, options: AttemptOptions, upstream: DroppableFieldsTaken): ChatRequest {
  const { droppable } = options;
  if (droppable === undefined) return request;
  let kept = request;
  for (const field of droppable) {
    if (upstream.accepted.has(field)) continue;
    if (MESSAGE_FIELDS.has(field)) {
      if (!kept.messages.some((message) => message[field] !== undefined)) continue;
      kept = { ...kept, messages: kept.messages.map((message) => withoutField(message, field)) };
    } else {
      if (kept[field] === undefined) continue;
      if (kept === request) kept = { ...request };
      delete kept[field];
    }
    const refined = REFINES.get(field);
    if (refined !== undefined && request[refined] !== undefined) continue;
    if (fieldDropped.hasSubscribers) {
      fieldDropped.publish({ requestId: options.requestId, provider: upstream.name, field } satisfies FieldDropped);
    }
  }
  return kept;
}

function withoutField(message: ChatMessage, field: string): ChatMessage {
  if (message[field] === undefined) return message;
  const { [field]: _dropped, ...rest } = message;
  return rest as ChatMessage;
}
