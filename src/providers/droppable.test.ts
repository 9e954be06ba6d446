import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import type { FieldDropped } from '../observability/events.ts';
import { converseFields } from './bedrock/request.ts';
import { COHERE_FIELDS } from './cohere/request.ts';
import { DEEPSEEK_QUIRKS } from './deepseek/deepseek.ts';
import { withoutUnaccepted } from './droppable.ts';
import { GEMINI_FIELDS } from './google/request.ts';
import { GROQ_QUIRKS } from './groq/groq.ts';
import { MISTRAL_QUIRKS } from './mistral/mistral.ts';
import { OPENAI_CHAT_FIELDS } from './openai/quirks.ts';
import type { AttemptOptions, ChatRequest } from './types.ts';
import { XAI_QUIRKS } from './xai/xai.ts';

const request: ChatRequest = {
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  temperature: 0.5,
  top_k: 5,
  reasoning_effort: 'medium',
};
const fromMessages = { requestId: 'req-1', droppable: new Set(['top_k', 'reasoning_effort']) } as unknown as AttemptOptions;

function dropped(run: () => void): FieldDropped[] {
  const events: FieldDropped[] = [];
  const listen = (message: unknown): void => void events.push(message as FieldDropped);
  subscribe('lightport:request:field_dropped', listen);
  try {
    run();
  } finally {
    unsubscribe('lightport:request:field_dropped', listen);
  }
  return events;
}

/** The droppable fields each upstream is sent (the others dropped), with the events that said so. */
function sentAndDropped(accepted: ReadonlySet<string>): { kept: string[]; dropped: string[] } {
  let sent: ChatRequest = request;
  const events = dropped(() => (sent = withoutUnaccepted(request, fromMessages, { name: 'up', accepted })));
  for (const event of events) expect(event).toMatchObject({ requestId: 'req-1', provider: 'up' });
  expect(sent).toMatchObject({ model: 'm', messages: request.messages, temperature: 0.5 });
  return { kept: ['top_k', 'reasoning_effort'].filter((field) => field in sent), dropped: events.map((event) => event.field) };
}

describe('withoutUnaccepted', () => {
  it('keeps what OpenAI-format providers take (reasoning_effort at OpenAI, Groq, xAI, DeepSeek), drops the rest, saying so', () => {
    for (const accepted of [OPENAI_CHAT_FIELDS, GROQ_QUIRKS.acceptedFields, XAI_QUIRKS.acceptedFields, DEEPSEEK_QUIRKS.acceptedFields])
      expect(sentAndDropped(accepted)).toEqual({ kept: ['reasoning_effort'], dropped: ['top_k'] });
    expect(sentAndDropped(MISTRAL_QUIRKS.acceptedFields)).toEqual({ kept: [], dropped: ['top_k', 'reasoning_effort'] });
    expect(request['top_k']).toBe(5); // the caller's request is left as it is, for the next target
    expect(request['reasoning_effort']).toBe('medium');
  });

  it('keeps top_k for Gemini, Cohere and Claude on Bedrock; drops the thinking budget for Cohere and Bedrock', () => {
    expect(sentAndDropped(GEMINI_FIELDS)).toEqual({ kept: ['top_k', 'reasoning_effort'], dropped: [] });
    expect(sentAndDropped(COHERE_FIELDS)).toEqual({ kept: ['top_k'], dropped: ['reasoning_effort'] });
    for (const model of [
      'anthropic.claude-3-5-haiku-20241022-v1:0',
      'us.anthropic.claude-sonnet-4-20250514-v1:0',
      'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    ])
      expect(sentAndDropped(converseFields(model))).toEqual({ kept: ['top_k'], dropped: ['reasoning_effort'] });
    for (const model of ['meta.llama3-70b-instruct-v1:0', 'amazon.nova-pro-v1:0', 'us.mistral.pixtral-large-2502-v1:0'])
      expect(sentAndDropped(converseFields(model))).toEqual({ kept: [], dropped: ['top_k', 'reasoning_effort'] });
  });

  it('keeps every field of a chat caller, and copies nothing when nothing is dropped', () => {
    expect(withoutUnaccepted(request, fromMessages, { name: 'up', accepted: new Set(['top_k', 'reasoning_effort']) })).toBe(request);
    const fromChat = { requestId: 'req-2' } as unknown as AttemptOptions;
    expect(dropped(() => expect(withoutUnaccepted(request, fromChat, { name: 'up', accepted: new Set() })).toBe(request))).toEqual([]);
  });
});
