import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../types.ts';
import { toAnthropicRequest } from './request.ts';

const weather = { type: 'function' as const, function: { name: 'weather', parameters: { type: 'object', properties: {} } } };
const ask = (extra: Partial<ChatRequest>): Record<string, unknown> =>
  toAnthropicRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [weather], ...extra } as ChatRequest, 'claude');

describe('tool choice in Anthropic terms', () => {
  it('says parallel_tool_calls: false through an auto tool_choice, with or without one in the request', () => {
    expect(ask({ parallel_tool_calls: false } as Partial<ChatRequest>)['tool_choice']).toEqual({
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    expect(ask({ parallel_tool_calls: false, tool_choice: 'auto' } as Partial<ChatRequest>)['tool_choice']).toEqual({
      type: 'auto',
      disable_parallel_tool_use: true,
    });
  });

  it('leaves tool_choice out when the request says nothing of it', () => {
    expect(ask({})).not.toHaveProperty('tool_choice');
    expect(ask({ parallel_tool_calls: true } as Partial<ChatRequest>)).not.toHaveProperty('tool_choice');
  });
});
