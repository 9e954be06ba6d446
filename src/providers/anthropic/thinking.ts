import { fieldDropped, type FieldDropped } from '../../observability/events.ts';
import type { ThinkingBlock } from '../translate/openai-output.ts';
import { isRecord, textOf, toolCallsOf } from '../translate/request-parts.ts';
import type { AttemptOptions, ChatMessage, ChatRequest, Provider } from '../types.ts';

/**
 * Claude's thinking budget for an OpenAI `reasoning_effort`, wherever Claude runs (Anthropic's
 * API, Bedrock): the one mapping. Any other effort (`none`, or one Claude has no level for) means
 * no thinking.
 */
const THINKING_BUDGETS: ReadonlyMap<string, number> = new Map([
  ['minimal', 1024],
  ['low', 2048],
  ['medium', 8192],
  ['high', 24_576],
]);

/** Anthropic requires max_tokens; this is what callers get when they do not say. */
const DEFAULT_MAX_TOKENS = 4096;

export function thinkingBudgetOf(effort: unknown): number | undefined {
  return typeof effort === 'string' ? THINKING_BUDGETS.get(effort) : undefined;
}

/** The output limit for a caller that set none: the default, or more, so a thinking budget leaves room for the answer. */
export function defaultMaxTokens(budget: number | undefined): number {
  return Math.max(DEFAULT_MAX_TOKENS, (budget ?? 0) + 1024);
}

/** Why a request's thinking, from its `reasoning_effort`, is not asked for: for the debug log. */
export const THINKING_WITHHELD =
  'thinking left off: the assistant turn whose tool calls this request answers came back without its thinking blocks, and Claude refuses that turn with thinking on';

/**
 * The thinking budget a request's `reasoning_effort` asks Claude for, or none. None too when Claude
 * would refuse the request with thinking on (see `endsInToolTurnWithoutThinking`): a caller that
 * did not send the signed blocks back (a Responses caller that left out the reasoning items, an
 * OpenAI client that drops fields it does not know) gets its answer without thinking, not a 400.
 */
export function thinkingBudgetFor(request: ChatRequest): number | undefined {
  const budget = thinkingBudgetOf(request['reasoning_effort']);
  return budget === undefined || endsInToolTurnWithoutThinking(request.messages) ? undefined : budget;
}

/**
 * Whether the messages end in the tool results of an assistant turn that made tool calls but does
 * not start with thinking blocks, as they become Claude's turns (consecutive assistant messages
 * one turn, tool results and user messages the next; system messages apart): with thinking on,
 * Claude refuses it ("a final assistant message must start with a thinking block"). An earlier
 * tool loop, already answered, needs no blocks.
 */
export function endsInToolTurnWithoutThinking(messages: readonly ChatMessage[]): boolean {
  let last = messages.length - 1;
  let answersTools = false;
  for (; last >= 0 && messages[last]?.role !== 'assistant'; last--) {
    const role = messages[last]?.role;
    if (role === 'tool' || role === 'function') answersTools = true;
  }
  if (!answersTools || last < 0) return false;
  const turn: ChatMessage[] = [];
  for (let index = last; index >= 0; index--) {
    const message = messages[index] as ChatMessage;
    if (message.role === 'assistant') turn.unshift(message);
    else if (message.role !== 'system' && message.role !== 'developer') break;
  }
  if (!turn.some((message) => toolCallsOf(message).length > 0)) return false;
  // The turn's first block is its first message's with any: thinking blocks go first in each.
  const first = turn.find((message) => hasThinking(message) || textOf(message.content) !== '' || toolCallsOf(message).length > 0);
  return first === undefined || !hasThinking(first);
}

function hasThinking(message: ChatMessage): boolean {
  return returnableThinkingBlocks(message['thinking_blocks']).length > 0;
}

/**
 * A provider that serves Claude, reporting for the debug log each request whose `reasoning_effort`
 * it sends without thinking (see `thinkingBudgetFor`), as a dropped field with the reason.
 * `effortDecides`: whether the request's effort decides the model's thinking (Claude, no
 * `thinking` object of the caller's).
 */
export function reportingWithheldThinking(provider: Provider, effortDecides: (request: ChatRequest, model: string) => boolean): Provider {
  const chat: Provider['chat'] = (request, options) => {
    if (fieldDropped.hasSubscribers) reportWithheld(request, options, provider.name, effortDecides);
    return provider.chat(request, options);
  };
  return { ...provider, chat };
}

function reportWithheld(
  request: ChatRequest,
  options: AttemptOptions,
  name: string,
  effortDecides: (request: ChatRequest, model: string) => boolean,
): void {
  if (thinkingBudgetOf(request['reasoning_effort']) === undefined || thinkingBudgetFor(request) !== undefined) return;
  if (!effortDecides(request, options.upstreamModel)) return;
  fieldDropped.publish({
    requestId: options.requestId,
    provider: name,
    field: 'reasoning_effort',
    reason: THINKING_WITHHELD,
  } satisfies FieldDropped);
}

/** A thinking or redacted_thinking block, as it must be sent back: text and signature, or the encrypted data. */
export function thinkingBlockOf(block: unknown): ThinkingBlock | undefined {
  if (!isRecord(block)) return undefined;
  if (block['type'] === 'thinking' && typeof block['thinking'] === 'string' && typeof block['signature'] === 'string')
    return { type: 'thinking', thinking: block['thinking'], signature: block['signature'] };
  if (block['type'] === 'redacted_thinking' && typeof block['data'] === 'string') return { type: 'redacted_thinking', data: block['data'] };
  return undefined;
}

/** The blocks of an assistant message's `thinking_blocks` that can go back to Claude: signed ones, and redacted ones. */
export function returnableThinkingBlocks(blocks: unknown): ThinkingBlock[] {
  if (!Array.isArray(blocks)) return [];
  return blocks.flatMap((block) => {
    const thinking = thinkingBlockOf(block);
    return thinking === undefined || (thinking.type === 'thinking' && thinking.signature === '') ? [] : [thinking];
  });
}
