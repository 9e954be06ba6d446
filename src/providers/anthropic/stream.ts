import { mapUpstreamError } from '../upstream-errors.ts';
import type { TokenUsage } from '../types.ts';
import { makeUsage } from '../translate/openai-output.ts';
import { isRecord } from '../translate/request-parts.ts';
import { stringLiteralBetween } from '../translate/string-literal.ts';
import { StreamDialect } from '../translate/translators.ts';
import { JSON_TOOL } from './request.ts';
import { anthropicFinishReason, anthropicUsage } from './response.ts';
import { thinkingBlockOf } from './thinking.ts';

const ERROR_STATUS: Record<string, number> = {
  overloaded_error: 529,
  rate_limit_error: 429,
  api_error: 500,
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
};

/** Messages API stream events → OpenAI chunks, one event at a time. */
export class AnthropicStream extends StreamDialect {
  #promptUsage = makeUsage(0, 0);
  /** Thinking blocks being streamed, by content-block index: passed on whole, with their signature, when they stop. */
  readonly #thinking = new Map<number, { text: string; signature: string }>();

  constructor(model: string, includeUsage: boolean, jsonMode: boolean) {
    super(model, includeUsage, jsonMode ? JSON_TOOL : undefined);
  }

  event(name: string | undefined, data: string): string {
    if (name === 'ping') return '';
    if (name === 'content_block_delta') {
      const literal = textDeltaLiteral(data);
      if (literal !== undefined) return this.writer.textLiteral(literal);
    }
    const event: unknown = JSON.parse(data);
    if (!isRecord(event)) return '';
    switch (event['type']) {
      case 'message_start':
        return this.#start(event['message']);
      case 'content_block_start':
        return this.#blockStart(Number(event['index']), event['content_block']);
      case 'content_block_delta':
        return this.#blockDelta(Number(event['index']), event['delta']);
      case 'content_block_stop':
        return this.#blockStop(Number(event['index']));
      case 'message_delta':
        return this.#messageDelta(event);
      case 'message_stop':
        return this.finish();
      case 'error':
        return this.fail(mapUpstreamError(statusOf(event['error']), data, {}));
      default:
        return '';
    }
  }

  #start(message: unknown): string {
    if (!isRecord(message)) return '';
    this.writer.identify(String(message['id'] ?? ''), typeof message['model'] === 'string' ? message['model'] : undefined);
    this.#promptUsage = anthropicUsage(message['usage']) ?? this.#promptUsage;
    // The output counted so far stands until message_delta's cumulative count (a stream cut before it keeps it).
    this.usage = makeUsage(this.#promptUsage.prompt_tokens, this.#promptUsage.completion_tokens, cacheDetails(this.#promptUsage));
    return this.writer.begin();
  }

  #blockStart(index: number, block: unknown): string {
    if (!isRecord(block)) return '';
    if (block['type'] === 'text' && typeof block['text'] === 'string') return this.writer.text(block['text']);
    if (block['type'] === 'thinking') {
      const text = typeof block['thinking'] === 'string' ? block['thinking'] : '';
      this.#thinking.set(index, { text, signature: typeof block['signature'] === 'string' ? block['signature'] : '' });
      return this.writer.reasoning(text);
    }
    const redacted = block['type'] === 'redacted_thinking' ? thinkingBlockOf(block) : undefined;
    if (redacted !== undefined) return this.writer.thinkingBlock(redacted);
    if (block['type'] !== 'tool_use') return '';
    return this.openToolBlock(index, String(block['id']), String(block['name']));
  }

  #blockDelta(index: number, delta: unknown): string {
    if (!isRecord(delta)) return '';
    switch (delta['type']) {
      case 'text_delta':
        return this.writer.text(String(delta['text'] ?? ''));
      case 'thinking_delta': {
        const text = String(delta['thinking'] ?? '');
        const thinking = this.#thinking.get(index);
        if (thinking !== undefined) thinking.text += text;
        return this.writer.reasoning(text);
      }
      case 'signature_delta': {
        const thinking = this.#thinking.get(index);
        if (thinking !== undefined) thinking.signature += String(delta['signature'] ?? '');
        return '';
      }
      case 'input_json_delta':
        return this.toolBlockInput(index, String(delta['partial_json'] ?? ''));
      default:
        return '';
    }
  }

  #blockStop(index: number): string {
    const thinking = this.#thinking.get(index);
    if (thinking === undefined) return this.endToolCall(index);
    this.#thinking.delete(index);
    return this.writer.thinkingBlock({ type: 'thinking', thinking: thinking.text, signature: thinking.signature });
  }

  #messageDelta(event: Record<string, unknown>): string {
    const delta = event['delta'];
    if (isRecord(delta) && delta['stop_reason']) this.stopWith(anthropicFinishReason(delta['stop_reason']));
    const usage = event['usage'];
    if (isRecord(usage)) {
      // message_delta's usage is cumulative; input counts, when present, replace message_start's.
      const latest = 'input_tokens' in usage ? (anthropicUsage(usage) ?? this.#promptUsage) : this.#promptUsage;
      const output = typeof usage['output_tokens'] === 'number' ? usage['output_tokens'] : 0;
      this.usage = makeUsage(latest.prompt_tokens, output, cacheDetails(latest));
    }
    return '';
  }
}

function statusOf(error: unknown): number {
  const type = isRecord(error) ? error['type'] : undefined;
  return (typeof type === 'string' ? ERROR_STATUS[type] : undefined) ?? 500;
}

const TEXT_DELTA = '"delta":{"type":"text_delta","text":';

/**
 * The hot event, `{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"..."}}`,
 * as Anthropic writes it: its text is already a JSON string literal, so it is cut out and reused
 * without parsing. Any other spelling (spaces, other key order) returns undefined and is parsed.
 */
function textDeltaLiteral(data: string): string | undefined {
  if (!data.startsWith('{"type":"content_block_delta","index":')) return undefined;
  return stringLiteralBetween(data, TEXT_DELTA, '}}');
}

/** Cache reads always (0 when none), cache writes when there were any: both are priced apart. */
function cacheDetails(usage: TokenUsage): { cached: number; cacheWrite?: number } {
  const cached = usage.cached_tokens ?? 0;
  return usage.cache_write_tokens === undefined ? { cached } : { cached, cacheWrite: usage.cache_write_tokens };
}
