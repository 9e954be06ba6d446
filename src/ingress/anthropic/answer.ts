import { randomUUID } from 'node:crypto';
import { returnableThinkingBlocks } from '../../providers/anthropic/thinking.ts';
import type { ThinkingBlock } from '../../providers/translate/openai-output.ts';
import type { AnswerWriter, ChatChunk, ChatCompletion, ChatToolCallDelta, ChatUsage } from '../chat-answer.ts';
import { anthropicStreamError } from './format.ts';
import { toAnthropicToolId } from './tool-ids.ts';

type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

function stopReasonOf(finishReason: string | null | undefined): StopReason {
  switch (finishReason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** Anthropic counts cache reads apart from input_tokens; OpenAI's prompt_tokens includes them. */
function usageOf(usage: ChatUsage | null | undefined): Record<string, number> {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    input_tokens: (usage?.prompt_tokens ?? 0) - cached,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    output_tokens: usage?.completion_tokens ?? 0,
  };
}

function parseInput(text: string): unknown {
  try {
    return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    return {};
  }
}

const messageId = (): string => `msg_${randomUUID().replaceAll('-', '')}`;

function sse(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** The signed thinking blocks of a chat message or delta (`thinking_blocks`, as providers that sign their reasoning give them). */
function thinkingBlocksIn(part: object | undefined): ThinkingBlock[] {
  return part !== undefined && 'thinking_blocks' in part ? returnableThinkingBlocks(part.thinking_blocks) : [];
}

type OpenBlock =
  { readonly kind: 'text' | 'thinking'; readonly index: number } | { readonly kind: 'tool'; readonly index: number; readonly call: number };

/** The internal chat answer as a Messages API answer: one message, or its event stream. */
export class AnthropicAnswer implements AnswerWriter {
  readonly #model: string;
  #started = false;
  #blocks = 0;
  #open: OpenBlock | undefined;
  /** Chat tool-call index → its content block index. */
  readonly #toolBlocks = new Map<number, number>();
  #stopReason: StopReason | undefined;
  #usage: ChatUsage | undefined;
  #finished = false;
  #failure: string | undefined;

  constructor(model: string) {
    this.#model = model;
  }

  completion(answer: ChatCompletion): unknown {
    const choice = answer.choices?.[0];
    const message = choice?.message;
    const content: Record<string, unknown>[] = [];
    // The provider's signed blocks (Claude's, on Bedrock), which the caller can send back; else the reasoning text, unsigned.
    const signed = thinkingBlocksIn(message);
    if (signed.length > 0) content.push(...signed);
    else if (message?.reasoning_content) content.push({ type: 'thinking', thinking: message.reasoning_content, signature: '' });
    if (message?.content) content.push({ type: 'text', text: message.content });
    for (const call of message?.tool_calls ?? [])
      content.push({
        type: 'tool_use',
        id: toAnthropicToolId(call.id),
        name: call.function.name,
        input: parseInput(call.function.arguments),
      });
    return {
      id: messageId(),
      type: 'message',
      role: 'assistant',
      model: answer.model ?? this.#model,
      content,
      stop_reason: stopReasonOf(choice?.finish_reason),
      stop_sequence: null,
      usage: usageOf(answer.usage),
    };
  }

  chunk(chunk: ChatChunk): string {
    let out = this.#start(chunk.model);
    if (chunk.usage) this.#usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (choice === undefined) return out;
    const delta = choice.delta;
    if (delta?.reasoning_content) out += this.#textDelta('thinking', delta.reasoning_content);
    for (const block of thinkingBlocksIn(delta)) out += this.#thinkingBlock(block);
    if (delta?.content) out += this.#textDelta('text', delta.content);
    for (const call of delta?.tool_calls ?? []) out += this.#toolDelta(call);
    if (choice.finish_reason) {
      out += this.#closeBlock();
      this.#stopReason = stopReasonOf(choice.finish_reason);
    }
    return out;
  }

  textLiteral(literal: string): string | undefined {
    if (this.#open?.kind !== 'text') return undefined;
    return `event: content_block_delta\ndata: {"type":"content_block_delta","index":${this.#open.index},"delta":{"type":"text_delta","text":${literal}}}\n\n`;
  }

  get failure(): string | undefined {
    return this.#failure;
  }

  end(): string {
    if (this.#finished) return '';
    if (this.#stopReason === undefined)
      return this.streamError('The upstream stream ended before its final event; the answer is incomplete.', 'upstream_error');
    this.#finished = true;
    return (
      this.#start(undefined) +
      this.#closeBlock() +
      sse('message_delta', { delta: { stop_reason: this.#stopReason, stop_sequence: null }, usage: usageOf(this.#usage) }) +
      sse('message_stop', {})
    );
  }

  streamError(message: string, code: string): string {
    this.#finished = true;
    this.#failure = code;
    return anthropicStreamError(message, code);
  }

  #start(model: string | undefined): string {
    if (this.#started) return '';
    this.#started = true;
    const message = {
      id: messageId(),
      type: 'message',
      role: 'assistant',
      model: model ?? this.#model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return sse('message_start', { message }) + sse('ping', {});
  }

  #textDelta(kind: 'text' | 'thinking', text: string): string {
    let out = '';
    if (this.#open?.kind !== kind) {
      out += this.#closeBlock();
      this.#open = { kind, index: this.#blocks++ };
      const block = kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
      out += sse('content_block_start', { index: this.#open.index, content_block: block });
    }
    const delta = kind === 'text' ? { type: 'text_delta', text } : { type: 'thinking_delta', thinking: text };
    return out + sse('content_block_delta', { index: this.#open.index, delta });
  }

  /**
   * A whole block, once the provider's ended (its text went out as thinking deltas): a signed one
   * closes the open thinking block with its signature_delta, as Anthropic streams it; a redacted
   * one is a block of its own, whole in its start, as Anthropic streams it.
   */
  #thinkingBlock(block: ThinkingBlock): string {
    if (block.type === 'redacted_thinking') {
      const index = this.#blocks++;
      return this.#closeBlock() + sse('content_block_start', { index, content_block: block }) + sse('content_block_stop', { index });
    }
    // A block whose text never came as deltas comes whole: its start, its text, then its signature.
    const out = this.#open?.kind === 'thinking' ? '' : this.#textDelta('thinking', block.thinking);
    const index = this.#open?.index ?? 0;
    return out + sse('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } }) + this.#closeBlock();
  }

  #toolDelta(call: ChatToolCallDelta): string {
    let out = '';
    let index = this.#toolBlocks.get(call.index);
    if (index === undefined) {
      out += this.#closeBlock();
      index = this.#blocks++;
      this.#toolBlocks.set(call.index, index);
      this.#open = { kind: 'tool', index, call: call.index };
      const block = { type: 'tool_use', id: toAnthropicToolId(call.id ?? ''), name: call.function?.name ?? '', input: {} };
      out += sse('content_block_start', { index, content_block: block });
    }
    const fragment = call.function?.arguments ?? '';
    if (fragment === '') return out;
    return out + sse('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: fragment } });
  }

  #closeBlock(): string {
    const open = this.#open;
    if (open === undefined) return '';
    this.#open = undefined;
    return sse('content_block_stop', { index: open.index });
  }
}
