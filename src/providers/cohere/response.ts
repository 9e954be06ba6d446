import type { TokenUsage } from '../types.ts';
import { makeUsage, type AnswerOut, type FinishReason, type ToolCallOut } from '../translate/openai-output.ts';
import { isRecord, textOf } from '../translate/request-parts.ts';

export function cohereFinishReason(reason: unknown): FinishReason {
  switch (reason) {
    case 'MAX_TOKENS':
      return 'length';
    case 'TOOL_CALL':
      return 'tool_calls';
    case 'ERROR_TOXIC':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** `tokens` are what the model processed; `billed_units` what was charged. OpenAI's counts are the former. */
export function cohereUsage(usage: unknown): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  const tokens = isRecord(usage['tokens']) ? usage['tokens'] : isRecord(usage['billed_units']) ? usage['billed_units'] : {};
  const cached = usage['cached_tokens'];
  return makeUsage(count(tokens['input_tokens']), count(tokens['output_tokens']), typeof cached === 'number' ? { cached } : {});
}

function count(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

export function fromCohereResponse(body: unknown, model: string): AnswerOut {
  if (!isRecord(body) || !isRecord(body['message'])) throw new Error('not a Cohere chat response');
  const message = body['message'];
  const toolCalls: ToolCallOut[] = Array.isArray(message['tool_calls'])
    ? message['tool_calls'].filter(isRecord).map((call) => {
        const fn = isRecord(call['function']) ? call['function'] : {};
        return {
          id: String(call['id']),
          name: String(fn['name']),
          arguments: typeof fn['arguments'] === 'string' ? fn['arguments'] : '{}',
        };
      })
    : [];
  const text = textOf(message['content']);
  return {
    id: String(body['id'] ?? 'chatcmpl-cohere'),
    model,
    text: text === '' && toolCalls.length > 0 ? null : text,
    reasoning: typeof message['tool_plan'] === 'string' ? message['tool_plan'] : undefined,
    toolCalls,
    finishReason: cohereFinishReason(body['finish_reason']),
    usage: cohereUsage(body['usage']),
  };
}
