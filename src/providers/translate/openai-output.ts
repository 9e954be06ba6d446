import { SSE_CONTENT_TYPE, SSE_DONE } from '../../server/sse.ts';
import type { TokenUsage } from '../types.ts';

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * A provider's signed reasoning block, passed to the caller as `thinking_blocks` (the name other
 * gateways use) so it can be sent back on the next turn, as Anthropic requires after tool use.
 */
export type ThinkingBlock =
  | { readonly type: 'thinking'; readonly thinking: string; readonly signature: string }
  | { readonly type: 'redacted_thinking'; readonly data: string };

export interface ToolCallOut {
  readonly id: string;
  readonly name: string;
  /** JSON text of the arguments. */
  readonly arguments: string;
}

/** One whole answer, provider-neutral, ready to be written as OpenAI's `chat.completion`. */
export interface AnswerOut {
  readonly id: string;
  readonly model: string;
  readonly text: string | null;
  readonly reasoning?: string | undefined;
  readonly thinkingBlocks?: readonly ThinkingBlock[];
  readonly toolCalls: readonly ToolCallOut[];
  readonly finishReason: FinishReason;
  readonly usage: TokenUsage | undefined;
}

export const JSON_CONTENT_TYPE = 'application/json';
export { SSE_CONTENT_TYPE };

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** OpenAI's usage object, with the detail objects only when the upstream reported them. */
export function openAIUsage(usage: TokenUsage): Record<string, unknown> {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens,
    ...(usage.cached_tokens === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cached_tokens } }),
    ...(usage.reasoning_tokens === undefined ? {} : { completion_tokens_details: { reasoning_tokens: usage.reasoning_tokens } }),
  };
}

export function makeUsage(
  prompt: number,
  completion: number,
  details: { cached?: number; cacheWrite?: number; reasoning?: number } = {},
): TokenUsage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(details.cached === undefined ? {} : { cached_tokens: details.cached }),
    ...(details.cacheWrite === undefined ? {} : { cache_write_tokens: details.cacheWrite }),
    ...(details.reasoning === undefined ? {} : { reasoning_tokens: details.reasoning }),
  };
}

export function completionJson(answer: AnswerOut): string {
  const toolCalls = answer.toolCalls.map((call) => ({
    id: call.id,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }));
  const message = {
    role: 'assistant',
    content: answer.text,
    ...(answer.reasoning ? { reasoning_content: answer.reasoning } : {}),
    ...(answer.thinkingBlocks?.length ? { thinking_blocks: answer.thinkingBlocks } : {}),
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
    refusal: null,
  };
  return JSON.stringify({
    id: answer.id,
    object: 'chat.completion',
    created: nowSeconds(),
    model: answer.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: answer.finishReason }],
    ...(answer.usage ? { usage: openAIUsage(answer.usage) } : {}),
  });
}

const CHUNK_TAIL = ',"logprobs":null,"finish_reason":null}]}\n\n';

/**
 * The one writer of translated OpenAI streams: `chat.completion.chunk` events with the role on
 * the first delta, tool-call deltas by index, a finish chunk, a usage chunk when asked, `[DONE]`.
 */
export class ChunkWriter {
  #id = '';
  #model: string;
  readonly #created = nowSeconds();
  readonly #includeUsage: boolean;
  #roleSent = false;
  #finished = false;
  /** A content chunk is this, the delta, then CHUNK_TAIL: built once, so hot text deltas skip JSON.stringify of the chunk. */
  #head = '';

  constructor(model: string, includeUsage: boolean) {
    this.#model = model;
    this.#includeUsage = includeUsage;
    this.#buildHead();
  }

  get finished(): boolean {
    return this.#finished;
  }

  identify(id: string, model?: string): void {
    if (this.#id !== '' && (model === undefined || model === this.#model)) return;
    if (this.#id === '') this.#id = id;
    if (model) this.#model = model;
    this.#buildHead();
  }

  /** The opening chunk: role and empty content, as OpenAI sends it. */
  begin(): string {
    return this.#roleSent ? '' : this.#chunk({ content: '' });
  }

  text(text: string): string {
    if (text === '') return '';
    if (!this.#roleSent) return this.#chunk({ content: text });
    return `${this.#head}{"content":${JSON.stringify(text)}}${CHUNK_TAIL}`;
  }

  /** Text already written as a JSON string literal (quotes and escapes included), pasted as it is. */
  textLiteral(literal: string): string {
    if (literal === '""') return '';
    if (!this.#roleSent) return this.text(JSON.parse(literal) as string);
    return `${this.#head}{"content":${literal}}${CHUNK_TAIL}`;
  }

  reasoning(text: string): string {
    return text === '' ? '' : this.#chunk({ reasoning_content: text });
  }

  /** A whole reasoning block, once it is complete (its text also went out as reasoning_content deltas). */
  thinkingBlock(block: ThinkingBlock): string {
    return this.#chunk({ thinking_blocks: [block] });
  }

  toolCallStart(index: number, id: string, name: string, args = ''): string {
    return this.#chunk({ tool_calls: [{ index, id, type: 'function', function: { name, arguments: args } }] });
  }

  toolCallArguments(index: number, fragment: string): string {
    return fragment === '' ? '' : this.#chunk({ tool_calls: [{ index, function: { arguments: fragment } }] });
  }

  /** The finish chunk, the usage chunk when the caller asked for it, then `[DONE]`. */
  finish(reason: FinishReason, usage: TokenUsage | undefined): string {
    if (this.#finished) return '';
    let out = this.begin() + this.#frame([{ index: 0, delta: {}, logprobs: null, finish_reason: reason }]);
    if (this.#includeUsage) out += this.#frame([], usage ? openAIUsage(usage) : null);
    this.#finished = true;
    return out + SSE_DONE;
  }

  #chunk(delta: Record<string, unknown>): string {
    if (!this.#roleSent) {
      this.#roleSent = true;
      delta = { role: 'assistant', ...delta };
    }
    return this.#frame([{ index: 0, delta, logprobs: null, finish_reason: null }]);
  }

  #buildHead(): void {
    this.#head = `data: {"id":${JSON.stringify(this.#id || 'chatcmpl-lightport')},"object":"chat.completion.chunk","created":${this.#created},"model":${JSON.stringify(this.#model)},"choices":[{"index":0,"delta":`;
  }

  #frame(choices: unknown[], usage?: unknown): string {
    const chunk: Record<string, unknown> = {
      id: this.#id || 'chatcmpl-lightport',
      object: 'chat.completion.chunk',
      created: this.#created,
      model: this.#model,
      choices,
    };
    if (usage !== undefined) chunk['usage'] = usage;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }
}
