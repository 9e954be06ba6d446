import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import type { FieldDropped } from '../observability/events.ts';
import { converseAcceptedFields } from './bedrock/request.ts';
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
const CLAUDE_ON_BEDROCK = [
  'anthropic.claude-3-5-haiku-20241022-v1:0',
  'us.anthropic.claude-sonnet-4-20250514-v1:0',
  'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
  'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
];
const OTHERS_ON_BEDROCK = ['meta.llama3-70b-instruct-v1:0', 'amazon.nova-pro-v1:0', 'us.mistral.pixtral-large-2502-v1:0'];
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

  it('keeps top_k for Gemini, Cohere and Claude on Bedrock; drops the thinking budget for Cohere and other Bedrock models', () => {
    expect(sentAndDropped(GEMINI_FIELDS)).toEqual({ kept: ['top_k', 'reasoning_effort'], dropped: [] });
    expect(sentAndDropped(COHERE_FIELDS)).toEqual({ kept: ['top_k'], dropped: ['reasoning_effort'] });
    for (const model of CLAUDE_ON_BEDROCK)
      expect(sentAndDropped(converseAcceptedFields(model))).toEqual({ kept: ['top_k', 'reasoning_effort'], dropped: [] });
    for (const model of OTHERS_ON_BEDROCK)
      expect(sentAndDropped(converseAcceptedFields(model))).toEqual({ kept: [], dropped: ['top_k', 'reasoning_effort'] });
  });

  describe('a Messages caller’s thinking: the exact budget and the blocks of earlier turns', () => {
    const thinking = { type: 'enabled', budget_tokens: 3000 };
    const blocks = [{ type: 'thinking', thinking: 'Let me see.', signature: 'sig' }];
    const conversation: ChatRequest = {
      model: 'm',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'Hello.', thinking_blocks: blocks },
        { role: 'user', content: 'again' },
      ],
      reasoning_effort: 'medium',
      thinking,
    };
    const options = {
      requestId: 'req-3',
      droppable: new Set(['reasoning_effort', 'thinking', 'thinking_blocks']),
    } as unknown as AttemptOptions;
    const send = (accepted: ReadonlySet<string>, sent: ChatRequest = conversation) => {
      let out: ChatRequest = sent;
      const events = dropped(() => (out = withoutUnaccepted(sent, options, { name: 'up', accepted })));
      return { out, dropped: events.map((event) => event.field) };
    };

    it('go whole to Claude on Bedrock, copying nothing', () => {
      for (const model of CLAUDE_ON_BEDROCK) expect(send(converseAcceptedFields(model))).toEqual({ out: conversation, dropped: [] });
      expect(send(converseAcceptedFields(CLAUDE_ON_BEDROCK[0] ?? '')).out).toBe(conversation);
    });

    it('are dropped elsewhere, the budget silently where its effort goes (or is reported dropped), the blocks saying so', () => {
      for (const accepted of [OPENAI_CHAT_FIELDS, GEMINI_FIELDS]) {
        const { out, dropped: fields } = send(accepted);
        expect(out).toMatchObject({ reasoning_effort: 'medium' });
        expect(out).not.toHaveProperty('thinking');
        expect(out.messages[1]).toEqual({ role: 'assistant', content: 'Hello.' });
        expect(fields).toEqual(['thinking_blocks']);
      }
      for (const accepted of [MISTRAL_QUIRKS.acceptedFields, COHERE_FIELDS, converseAcceptedFields(OTHERS_ON_BEDROCK[0] ?? '')])
        expect(send(accepted).dropped).toEqual(['reasoning_effort', 'thinking_blocks']);
      // A budget with no effort beside it (Anthropic's adaptive thinking) is reported by its own name.
      const { reasoning_effort: _effort, ...adaptive } = conversation;
      expect(send(OPENAI_CHAT_FIELDS, { ...adaptive, thinking: { type: 'adaptive' } }).dropped).toEqual(['thinking', 'thinking_blocks']);
      // The caller's request is left as it is, for the next target.
      expect(conversation.messages[1]).toHaveProperty('thinking_blocks', blocks);
      expect(conversation['thinking']).toBe(thinking);
    });

    it('copies nothing when no message has blocks to drop', () => {
      const plain: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
      expect(send(OPENAI_CHAT_FIELDS, plain)).toEqual({ out: plain, dropped: [] });
      expect(send(OPENAI_CHAT_FIELDS, plain).out).toBe(plain);
    });
  });

  it('keeps every field of a chat caller, and copies nothing when nothing is dropped', () => {
    expect(withoutUnaccepted(request, fromMessages, { name: 'up', accepted: new Set(['top_k', 'reasoning_effort']) })).toBe(request);
    const fromChat = { requestId: 'req-2' } as unknown as AttemptOptions;
    expect(dropped(() => expect(withoutUnaccepted(request, fromChat, { name: 'up', accepted: new Set() })).toBe(request))).toEqual([]);
  });
});
