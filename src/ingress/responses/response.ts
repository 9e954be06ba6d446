import type { ThinkingBlock } from '../../providers/translate/openai-output.ts';
import { isRecord } from '../../providers/translate/request-parts.ts';
import type { AnswerWriter, ChatCompletion, ChatUsage } from '../chat-answer.ts';
import { newId, type Item } from './items.ts';
import type { CreateResponse } from './request.ts';
import { sealThinkingBlocks, thinkingBlocksIn } from './thinking.ts';

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** The Response object's parts that change as the answer is written; the rest echoes the request. */
export interface ResponseState {
  readonly id: string;
  readonly createdAt: number;
  model: string;
  status: ResponseStatus;
  readonly output: Item[];
  usage: ChatUsage | undefined;
  incompleteReason: string | undefined;
}

/** Called once the whole Response exists, to keep it (with its output items) for later turns. */
export type OnResponseDone = (response: Record<string, unknown>) => void;

export function newResponseState(model: string): ResponseState {
  return {
    id: newId('resp'),
    createdAt: Math.floor(Date.now() / 1000),
    model,
    status: 'in_progress',
    output: [],
    usage: undefined,
    incompleteReason: undefined,
  };
}

/** The Responses API's usage from chat's: its `input_tokens` include cached ones, as chat's prompt_tokens do. */
export function responsesUsage(usage: ChatUsage): Record<string, unknown> {
  const input = usage.prompt_tokens ?? 0;
  const output = usage.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens ?? input + output,
  };
}

/** A finish reason as the Response's status (and, when cut short, why). */
export function settle(state: ResponseState, finishReason: string | null | undefined): void {
  if (finishReason === 'length') state.incompleteReason = 'max_output_tokens';
  else if (finishReason === 'content_filter') state.incompleteReason = 'content_filter';
  state.status = state.incompleteReason === undefined ? 'completed' : 'incomplete';
}

export function responseObject(request: CreateResponse, state: ResponseState): Record<string, unknown> {
  const reasoning = isRecord(request['reasoning']) ? request['reasoning'] : {};
  return {
    id: state.id,
    object: 'response',
    created_at: state.createdAt,
    status: state.status,
    background: false,
    error: null,
    incomplete_details: state.incompleteReason === undefined ? null : { reason: state.incompleteReason },
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    max_tool_calls: null,
    model: state.model,
    output: state.output,
    parallel_tool_calls: request['parallel_tool_calls'] ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: reasoning['effort'] ?? null, summary: reasoning['summary'] ?? null },
    store: request.store ?? true,
    temperature: request.temperature ?? 1,
    text: request['text'] ?? { format: { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto',
    tools: request.tools ?? [],
    top_p: request.top_p ?? 1,
    truncation: request['truncation'] ?? 'disabled',
    usage: state.usage === undefined ? null : responsesUsage(state.usage),
    user: request['user'] ?? null,
    metadata: request.metadata ?? {},
  };
}

export function messageItem(id: string, text: string, status: 'in_progress' | 'completed'): Item {
  return { id, type: 'message', status, role: 'assistant', content: status === 'completed' ? [outputText(text)] : [] };
}

export function outputText(text: string): Item {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/** A reasoning item; Claude's signed thinking blocks, when it has them, ride in its `encrypted_content` (see thinking.ts). */
export function reasoningItem(id: string, text: string, blocks: readonly ThinkingBlock[] = []): Item {
  const item: Item = { id, type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text }] };
  if (blocks.length > 0) item['encrypted_content'] = sealThinkingBlocks(blocks);
  return item;
}

export function functionCallItem(call: { id: string; callId: string; name: string; arguments: string; done: boolean }): Item {
  return {
    id: call.id,
    type: 'function_call',
    status: call.done ? 'completed' : 'in_progress',
    arguments: call.arguments,
    call_id: call.callId,
    name: call.name,
  };
}

/** A whole chat answer as one Response object. */
export class ResponseJson implements Pick<AnswerWriter, 'completion'> {
  readonly #request: CreateResponse;
  readonly #state: ResponseState;
  readonly #onDone: OnResponseDone;

  constructor(request: CreateResponse, state: ResponseState, onDone: OnResponseDone) {
    this.#request = request;
    this.#state = state;
    this.#onDone = onDone;
  }

  completion(answer: ChatCompletion): unknown {
    const state = this.#state;
    const choice = answer.choices?.[0];
    const message = choice?.message;
    if (answer.model) state.model = answer.model;
    const blocks = thinkingBlocksIn(message);
    if (message?.reasoning_content || blocks.length > 0)
      state.output.push(reasoningItem(newId('rs'), message?.reasoning_content ?? '', blocks));
    if (message?.content) state.output.push(messageItem(newId('msg'), message.content, 'completed'));
    for (const call of message?.tool_calls ?? []) {
      state.output.push(
        functionCallItem({ id: newId('fc'), callId: call.id, name: call.function.name, arguments: call.function.arguments, done: true }),
      );
    }
    state.usage = answer.usage ?? undefined;
    settle(state, choice?.finish_reason);
    const response = responseObject(this.#request, state);
    this.#onDone(response);
    return response;
  }
}
