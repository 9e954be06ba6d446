import { openAIUsage } from '../providers/translate/openai-output.ts';
import type { ResponseSink, TokenUsage } from '../providers/types.ts';
import type { ClientStream } from './client-stream.ts';
import type { ToolCall } from './tool-exec.ts';
import type { JsonTurn, StreamTurn, TurnResult } from './turn.ts';

/** How the last turn reaches the client: with usage summed over the turns, and without the tool calls the gateway dropped. */
export interface FinalAnswer {
  readonly usage: TokenUsage | undefined;
  /** The calls the client gets back (its own tools, MCP tools not set to auto-run). */
  readonly returned: readonly ToolCall[];
  /** False when the turn is exactly what the upstream sent (first turn, nothing dropped). */
  readonly rewrite: boolean;
}

function finishReason(result: TurnResult, final: FinalAnswer): string {
  if (final.returned.length > 0) return 'tool_calls';
  return result.finishReason === 'tool_calls' || result.finishReason === null ? 'stop' : result.finishReason;
}

export function sendJsonAnswer(sink: ResponseSink, turn: JsonTurn, result: TurnResult, final: FinalAnswer): void {
  sink.start(200, 'application/json');
  if (!final.rewrite || turn.body === undefined) {
    sink.write(turn.raw);
    sink.end();
    return;
  }
  const body = turn.body;
  const choice = (body['choices'] as Record<string, unknown>[] | undefined)?.[0];
  if (choice !== undefined) {
    const message = { ...(choice['message'] as Record<string, unknown>) };
    if (final.returned.length > 0) message['tool_calls'] = final.returned.map(openAIToolCall);
    else delete message['tool_calls'];
    choice['message'] = message;
    choice['finish_reason'] = finishReason(result, final);
  }
  if (final.usage !== undefined) body['usage'] = openAIUsage(final.usage);
  sink.write(JSON.stringify(body));
  sink.end();
}

export function endStreamAnswer(
  client: ClientStream,
  turn: StreamTurn,
  result: TurnResult,
  final: FinalAnswer,
  includeUsage: boolean,
): void {
  const envelope = turn.envelope;
  const chunk = (delta: Record<string, unknown>, reason: string | null) => ({
    ...envelope,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: reason }],
  });
  final.returned.forEach((call, index) => {
    const role = client.roleSent ? {} : { role: 'assistant', content: null };
    client.markRoleSent();
    client.writeChunk(chunk({ ...role, tool_calls: [{ index, ...openAIToolCall(call) }] }, null));
  });
  const role = client.roleSent ? {} : { role: 'assistant', content: '' };
  client.writeChunk(chunk(role, finishReason(result, final)));
  if (includeUsage && final.usage !== undefined) client.writeChunk({ ...envelope, choices: [], usage: openAIUsage(final.usage) });
  client.end();
}

export function openAIToolCall(call: ToolCall): Record<string, unknown> {
  return { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } };
}
