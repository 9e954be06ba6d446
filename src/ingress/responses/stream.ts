import type { ThinkingBlock } from '../../providers/translate/openai-output.ts';
import type { AnswerWriter, ChatChunk, ChatCompletion, ChatToolCallDelta } from '../chat-answer.ts';
import { newId } from './items.ts';
import type { CreateResponse } from './request.ts';
import {
  functionCallItem,
  messageItem,
  outputText,
  reasoningItem,
  responseObject,
  ResponseJson,
  settle,
  type OnResponseDone,
  type ResponseState,
} from './response.ts';
import { thinkingBlocksIn } from './thinking.ts';

interface OpenText {
  readonly kind: 'text' | 'reasoning';
  readonly id: string;
  readonly outputIndex: number;
  /** The deltas as JSON string literals (the hot ones arrive so, unparsed), read once when the item is done. */
  readonly pieces: string[];
  /** A reasoning item's signed thinking blocks, each whole once it ended (after its text). */
  readonly blocks: ThinkingBlock[];
}

interface OpenCall {
  readonly id: string;
  readonly outputIndex: number;
  readonly callId: string;
  readonly name: string;
  arguments: string;
}

/**
 * The internal chat answer as a Responses API answer: one Response object, or the documented
 * event stream (response.created … response.completed), every event numbered in order.
 */
export class ResponsesAnswer implements AnswerWriter {
  readonly #request: CreateResponse;
  readonly #state: ResponseState;
  readonly #onDone: OnResponseDone;
  #sequence = 0;
  #started = false;
  #finished = false;
  #failure: string | undefined;
  #open: OpenText | undefined;
  /** Chat tool-call index → the function_call item being streamed. */
  readonly #calls = new Map<number, OpenCall>();
  #finishReason: string | null | undefined;

  constructor(request: CreateResponse, state: ResponseState, onDone: OnResponseDone) {
    this.#request = request;
    this.#state = state;
    this.#onDone = onDone;
  }

  completion(answer: ChatCompletion): unknown {
    return new ResponseJson(this.#request, this.#state, this.#onDone).completion(answer);
  }

  chunk(chunk: ChatChunk): string {
    let out = this.#start(chunk.model);
    if (chunk.usage) this.#state.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (choice === undefined) return out;
    const delta = choice.delta;
    if (delta?.reasoning_content) out += this.#textDelta('reasoning', delta.reasoning_content);
    const blocks = thinkingBlocksIn(delta);
    if (blocks.length > 0) out += this.#thinkingBlocks(blocks);
    if (delta?.content) out += this.#textDelta('text', delta.content);
    for (const call of delta?.tool_calls ?? []) out += this.#toolDelta(call);
    if (choice.finish_reason) this.#finishReason = choice.finish_reason;
    return out;
  }

  get failure(): string | undefined {
    return this.#failure;
  }

  end(): string {
    if (this.#finished) return '';
    if (this.#finishReason === undefined)
      return this.streamError('The upstream stream ended before its final event; the answer is incomplete.', 'upstream_error');
    this.#finished = true;
    let out = this.#start(undefined) + this.#closeText();
    for (const call of this.#calls.values()) out += this.#closeCall(call);
    settle(this.#state, this.#finishReason);
    const response = responseObject(this.#request, this.#state);
    this.#onDone(response);
    return out + this.#event(this.#state.status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
  }

  /** An error event with its sequence number (OpenAI's nested `error`, and the documented top-level fields). */
  streamError(message: string, code: string): string {
    this.#finished = true;
    this.#failure = code;
    return this.#event('error', { code, message, param: null, error: { type: 'server_error', code, message, param: null } });
  }

  #event(type: string, data: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.#sequence++, ...data })}\n\n`;
  }

  #start(model: string | undefined): string {
    if (this.#started) return '';
    this.#started = true;
    if (model) this.#state.model = model;
    const response = responseObject(this.#request, this.#state);
    return this.#event('response.created', { response }) + this.#event('response.in_progress', { response });
  }

  #textDelta(kind: OpenText['kind'], text: string): string {
    const out = this.#openText(kind);
    const open = this.#open as OpenText;
    open.pieces.push(JSON.stringify(text));
    const where = { item_id: open.id, output_index: open.outputIndex, content_index: 0 };
    return (
      out +
      this.#event(kind === 'text' ? 'response.output_text.delta' : 'response.reasoning_text.delta', {
        ...where,
        delta: text,
        ...(kind === 'text' ? { logprobs: [] } : {}),
      })
    );
  }

  /** The item of this kind being written, or a new one (closing the one before), with its added events. */
  #openText(kind: OpenText['kind']): string {
    if (this.#open?.kind === kind) return '';
    let out = this.#closeText();
    const open: OpenText = {
      kind,
      id: newId(kind === 'text' ? 'msg' : 'rs'),
      outputIndex: this.#state.output.length,
      pieces: [],
      blocks: [],
    };
    this.#open = open;
    const item = kind === 'text' ? messageItem(open.id, '', 'in_progress') : { id: open.id, type: 'reasoning', summary: [], content: [] };
    this.#state.output.push(item);
    const part = kind === 'text' ? outputText('') : { type: 'reasoning_text', text: '' };
    out += this.#event('response.output_item.added', { output_index: open.outputIndex, item });
    out += this.#event('response.content_part.added', { item_id: open.id, output_index: open.outputIndex, content_index: 0, part });
    return out;
  }

  /** Signed thinking blocks go with the reasoning item being written (one of their own when none is: a redacted block has no text). */
  #thinkingBlocks(blocks: readonly ThinkingBlock[]): string {
    const out = this.#openText('reasoning');
    (this.#open as OpenText).blocks.push(...blocks);
    return out;
  }

  textLiteral(literal: string): string | undefined {
    const open = this.#open;
    if (open?.kind !== 'text') return undefined;
    open.pieces.push(literal);
    return `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":${this.#sequence++},"item_id":"${open.id}","output_index":${open.outputIndex},"content_index":0,"delta":${literal},"logprobs":[]}\n\n`;
  }

  #closeText(): string {
    const open = this.#open;
    if (open === undefined) return '';
    this.#open = undefined;
    const text = (JSON.parse(`[${open.pieces.join(',')}]`) as string[]).join('');
    const where = { item_id: open.id, output_index: open.outputIndex, content_index: 0 };
    const item = open.kind === 'text' ? messageItem(open.id, text, 'completed') : reasoningItem(open.id, text, open.blocks);
    this.#state.output[open.outputIndex] = item;
    const part = open.kind === 'text' ? outputText(text) : { type: 'reasoning_text', text };
    return (
      (open.kind === 'text'
        ? this.#event('response.output_text.done', { ...where, text, logprobs: [] })
        : this.#event('response.reasoning_text.done', { ...where, text })) +
      this.#event('response.content_part.done', { ...where, part }) +
      this.#event('response.output_item.done', { output_index: open.outputIndex, item })
    );
  }

  #toolDelta(delta: ChatToolCallDelta): string {
    let out = '';
    let call = this.#calls.get(delta.index);
    if (call === undefined) {
      out += this.#closeText();
      call = {
        id: newId('fc'),
        outputIndex: this.#state.output.length,
        callId: delta.id ?? '',
        name: delta.function?.name ?? '',
        arguments: '',
      };
      this.#calls.set(delta.index, call);
      const item = functionCallItem({ ...call, done: false });
      this.#state.output.push(item);
      out += this.#event('response.output_item.added', { output_index: call.outputIndex, item });
    }
    const fragment = delta.function?.arguments ?? '';
    if (fragment === '') return out;
    call.arguments += fragment;
    return (
      out + this.#event('response.function_call_arguments.delta', { item_id: call.id, output_index: call.outputIndex, delta: fragment })
    );
  }

  #closeCall(call: OpenCall): string {
    const item = functionCallItem({ ...call, done: true });
    this.#state.output[call.outputIndex] = item;
    return (
      this.#event('response.function_call_arguments.done', {
        item_id: call.id,
        output_index: call.outputIndex,
        name: call.name,
        arguments: call.arguments,
      }) + this.#event('response.output_item.done', { output_index: call.outputIndex, item })
    );
  }
}
