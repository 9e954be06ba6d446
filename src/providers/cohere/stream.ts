import { mapUpstreamError } from '../upstream-errors.ts';
import { isRecord } from '../translate/request-parts.ts';
import { StreamDialect } from '../translate/translators.ts';
import { cohereFinishReason, cohereUsage } from './response.ts';

/** Cohere v2 chat stream events (`message-start`, `content-delta`, `tool-plan-delta`, `tool-call-*`, `message-end`). */
export class CohereStream extends StreamDialect {
  event(name: string | undefined, data: string): string {
    const event: unknown = JSON.parse(data);
    if (!isRecord(event)) return '';
    const message = messageOf(event);
    switch (event['type'] ?? name) {
      case 'message-start':
        this.writer.identify(String(event['id'] ?? ''));
        return this.writer.begin();
      case 'content-start':
      case 'content-delta':
        return this.writer.text(isRecord(message['content']) ? String(message['content']['text'] ?? '') : '');
      case 'tool-plan-delta':
        return this.writer.reasoning(String(message['tool_plan'] ?? ''));
      case 'tool-call-start': {
        const call = isRecord(message['tool_calls']) ? message['tool_calls'] : {};
        const fn = isRecord(call['function']) ? call['function'] : {};
        return this.startToolCall(Number(event['index']), String(call['id']), String(fn['name']), String(fn['arguments'] ?? ''));
      }
      case 'tool-call-delta': {
        const call = isRecord(message['tool_calls']) ? message['tool_calls'] : {};
        const fn = isRecord(call['function']) ? call['function'] : {};
        return this.toolArguments(Number(event['index']), String(fn['arguments'] ?? ''));
      }
      case 'tool-call-end':
        return this.endToolCall(Number(event['index']));
      case 'message-end': {
        const delta = isRecord(event['delta']) ? event['delta'] : {};
        this.usage = cohereUsage(delta['usage']) ?? this.usage;
        return this.finish(cohereFinishReason(delta['finish_reason']));
      }
      case 'error':
        return this.fail(mapUpstreamError(500, data, {}));
      default:
        return '';
    }
  }
}

function messageOf(event: Record<string, unknown>): Record<string, unknown> {
  const delta = event['delta'];
  return isRecord(delta) && isRecord(delta['message']) ? delta['message'] : {};
}
