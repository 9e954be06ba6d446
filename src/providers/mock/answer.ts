import { createHash } from 'node:crypto';
import type { MockProviderConfig } from '../../config/schema.ts';
import type { ChatMessage, ChatRequest } from '../types.ts';

export interface MockToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

export interface MockAnswer {
  readonly text: string;
  readonly toolCalls: readonly MockToolCall[];
  readonly usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** What the mock says to a request: a pure function of its config and the request. */
export function mockAnswer(config: MockProviderConfig, request: ChatRequest): MockAnswer {
  const toolCalls = scriptedToolCalls(config, request);
  const text = toolCalls.length > 0 ? '' : answerText(config, request.messages);
  const usage = config.usage ?? {
    prompt_tokens: estimateTokens(request.messages.map((message) => contentText(message.content)).join(' ')),
    completion_tokens: estimateTokens(text + toolCalls.map((call) => call.name + call.arguments).join('')),
  };
  return { text, toolCalls, usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } };
}

function answerText(config: MockProviderConfig, messages: readonly ChatMessage[]): string {
  const last = messages.at(-1);
  if (last?.role === 'tool') {
    const results = messages.slice(messages.findLastIndex((message) => message.role !== 'tool') + 1);
    return `Tool results: ${results.map((message) => contentText(message.content)).join('; ')}`;
  }
  if (config.response !== 'echo') return config.response.text;
  const lastUser = messages.findLast((message) => message.role === 'user');
  return lastUser === undefined ? '' : contentText(lastUser.content);
}

function scriptedToolCalls(config: MockProviderConfig, request: ChatRequest): MockToolCall[] {
  const tools = request.tools ?? [];
  if (config.tool_calls.length === 0 || tools.length === 0 || request.tool_choice === 'none') return [];
  const round = toolRound(request.messages);
  const offered = tools.flatMap((tool) => (tool.function ? [tool.function.name] : []));
  return config.tool_calls.flatMap((call, index) => {
    if (call.round !== round) return [];
    const name = call.name === '*' ? offered[0] : call.name;
    if (name === undefined || !offered.includes(name)) return [];
    const args = JSON.stringify(call.arguments);
    return [{ id: `call_${digest(`${name}:${args}:${index}:${request.messages.length}`).slice(0, 24)}`, name, arguments: args }];
  });
}

/** How many tool-calling turns the assistant has taken since the last user message. */
function toolRound(messages: readonly ChatMessage[]): number {
  const lastUser = messages.findLastIndex((message) => message.role === 'user');
  return messages.slice(lastUser + 1).filter((message) => message.role === 'assistant' && (message.tool_calls?.length ?? 0) > 0).length;
}

export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) =>
      typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text'
        ? String((part as { text?: unknown }).text ?? '')
        : '',
    )
    .join('');
}

/** About four characters a token: close enough for a mock's usage figures. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
