import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import type { FieldDropped } from '../../observability/events.ts';
import { effortDecidesThinking, toConverseRequest } from '../bedrock/request.ts';
import type { AttemptOptions, ChatMessage, ChatRequest, Provider } from '../types.ts';
import { toAnthropicRequest } from './request.ts';
import { endsInToolTurnWithoutThinking, reportingWithheldThinking, THINKING_WITHHELD, thinkingBudgetFor } from './thinking.ts';

const signed = { type: 'thinking', thinking: 'Let me look it up.', signature: 'sig' };
const question: ChatMessage = { role: 'user', content: 'Weather in Paris?' };
const call = (id: string, thinkingBlocks?: unknown[], content: unknown = null): ChatMessage => ({
  role: 'assistant',
  content,
  tool_calls: [{ id, type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
  ...(thinkingBlocks === undefined ? {} : { thinking_blocks: thinkingBlocks }),
});
const result = (id: string): ChatMessage => ({ role: 'tool', tool_call_id: id, content: 'sunny' });

describe('endsInToolTurnWithoutThinking: what Claude refuses with thinking on', () => {
  it('is a tool-result turn answering calls made without thinking blocks (or with none it can take back)', () => {
    expect(endsInToolTurnWithoutThinking([question, call('a'), result('a')])).toBe(true);
    expect(endsInToolTurnWithoutThinking([question, call('a', []), result('a')])).toBe(true);
    // Unsigned or malformed blocks cannot go back to Claude: as good as none.
    expect(endsInToolTurnWithoutThinking([question, call('a', [{ ...signed, signature: '' }]), result('a')])).toBe(true);
    expect(endsInToolTurnWithoutThinking([question, call('a', [{ type: 'thinking' }]), result('a')])).toBe(true);
    // The tool results and a user message after them are one user turn: still the tool loop.
    expect(endsInToolTurnWithoutThinking([question, call('a'), result('a'), { role: 'user', content: 'and then?' }])).toBe(true);
  });

  it('is not a turn whose calls came back with their blocks, signed or redacted', () => {
    expect(endsInToolTurnWithoutThinking([question, call('a', [signed]), result('a')])).toBe(false);
    expect(endsInToolTurnWithoutThinking([question, call('a', [{ type: 'redacted_thinking', data: 'x' }]), result('a')])).toBe(false);
  });

  it('is not a conversation past its tool loop, nor one without tool calls', () => {
    const answered: ChatMessage[] = [question, call('a'), result('a'), { role: 'assistant', content: 'Sunny.' }];
    expect(endsInToolTurnWithoutThinking([...answered, { role: 'user', content: 'Thanks' }])).toBe(false);
    expect(endsInToolTurnWithoutThinking([question])).toBe(false);
    expect(endsInToolTurnWithoutThinking([question, { role: 'assistant', content: 'Hi' }, { role: 'user', content: 'Bye' }])).toBe(false);
    expect(endsInToolTurnWithoutThinking([])).toBe(false);
  });

  it('reads consecutive assistant messages as the one turn Claude gets, opened by the first with any block', () => {
    const text: ChatMessage = { role: 'assistant', content: 'Looking.' };
    expect(endsInToolTurnWithoutThinking([question, text, call('a', [signed]), result('a')])).toBe(true);
    const thought: ChatMessage = { role: 'assistant', content: 'Looking.', thinking_blocks: [signed] };
    expect(endsInToolTurnWithoutThinking([question, thought, { role: 'system', content: 's' }, call('a'), result('a')])).toBe(false);
    expect(endsInToolTurnWithoutThinking([question, { role: 'assistant', content: '' }, call('a', [signed]), result('a')])).toBe(false);
    // Of a loop of several calls, the last assistant turn is the one that counts.
    expect(endsInToolTurnWithoutThinking([question, call('a', [signed]), result('a'), call('b'), result('b')])).toBe(true);
    expect(endsInToolTurnWithoutThinking([question, call('a'), result('a'), call('b', [signed]), result('b')])).toBe(false);
  });
});

describe('thinking from reasoning_effort, on Anthropic and on Bedrock', () => {
  const CLAUDE = 'us.anthropic.claude-sonnet-4-20250514-v1:0';
  const request = (messages: ChatMessage[], extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model: 'm',
    messages,
    reasoning_effort: 'medium',
    ...extra,
  });
  const thinking = (chat: ChatRequest) => ({
    anthropic: toAnthropicRequest(chat, 'claude')['thinking'],
    bedrock: (toConverseRequest(chat, CLAUDE)['additionalModelRequestFields'] as Record<string, unknown> | undefined)?.['thinking'],
  });
  const on = { type: 'enabled', budget_tokens: 8192 };

  it('is left off on a tool turn that came back without its thinking blocks, and on otherwise', () => {
    expect(thinkingBudgetFor(request([question, call('a'), result('a')]))).toBeUndefined();
    expect(thinking(request([question, call('a'), result('a')]))).toEqual({ anthropic: undefined, bedrock: undefined });
    expect(thinking(request([question, call('a', [signed]), result('a')]))).toEqual({ anthropic: on, bedrock: on });
    expect(thinking(request([question]))).toEqual({ anthropic: on, bedrock: on });
    expect(thinkingBudgetFor(request([question]))).toBe(8192);
    expect(thinkingBudgetFor(request([question], { reasoning_effort: 'none' }))).toBeUndefined();
  });

  it('leaves a Messages caller’s own thinking object on Bedrock as it is (the caller decides, as with Anthropic)', () => {
    const own = { type: 'enabled', budget_tokens: 3000 };
    const bedrock = toConverseRequest(request([question, call('a'), result('a')], { thinking: own }), CLAUDE);
    expect(bedrock['additionalModelRequestFields']).toEqual({ thinking: own });
  });
});

describe('reportingWithheldThinking', () => {
  const options = { requestId: 'req-9', upstreamModel: 'claude' } as AttemptOptions;
  const inner: Provider = {
    name: 'claude',
    type: 'anthropic',
    chat: () => Promise.resolve({ kind: 'ok' } as unknown as Awaited<ReturnType<Provider['chat']>>),
    embeddings: () => Promise.reject(new Error('none')),
    close: () => Promise.resolve(),
  };
  const events = async (provider: Provider, chat: ChatRequest): Promise<FieldDropped[]> => {
    const seen: FieldDropped[] = [];
    const listen = (message: unknown): void => void seen.push(message as FieldDropped);
    subscribe('lightport:request:field_dropped', listen);
    try {
      await provider.chat(chat, options);
    } finally {
      unsubscribe('lightport:request:field_dropped', listen);
    }
    return seen;
  };
  const unanswerable: ChatRequest = { model: 'm', messages: [question, call('a'), result('a')], reasoning_effort: 'low' };

  it('reports the effort left unused on a tool turn without thinking blocks, with why, and nothing otherwise', async () => {
    const provider = reportingWithheldThinking(inner, () => true);
    expect(provider.name).toBe('claude');
    expect(await events(provider, unanswerable)).toEqual([
      { requestId: 'req-9', provider: 'claude', field: 'reasoning_effort', reason: THINKING_WITHHELD },
    ]);
    expect(await events(provider, { ...unanswerable, reasoning_effort: undefined })).toEqual([]);
    expect(await events(provider, { ...unanswerable, messages: [question, call('a', [signed]), result('a')] })).toEqual([]);
  });

  it('reports nothing on Bedrock where the effort does not decide thinking: other families, or a caller’s own thinking object', async () => {
    const bedrock = reportingWithheldThinking(inner, effortDecidesThinking);
    const at = (upstreamModel: string) => ({ ...options, upstreamModel });
    const seen = async (model: string, chat: ChatRequest): Promise<number> => {
      let count = 0;
      const listen = (): void => void count++;
      subscribe('lightport:request:field_dropped', listen);
      try {
        await bedrock.chat(chat, at(model));
      } finally {
        unsubscribe('lightport:request:field_dropped', listen);
      }
      return count;
    };
    expect(await seen('us.anthropic.claude-sonnet-4-20250514-v1:0', unanswerable)).toBe(1);
    expect(await seen('meta.llama3-70b-instruct-v1:0', unanswerable)).toBe(0);
    expect(
      await seen('us.anthropic.claude-sonnet-4-20250514-v1:0', { ...unanswerable, thinking: { type: 'enabled', budget_tokens: 2000 } }),
    ).toBe(0);
  });
});
