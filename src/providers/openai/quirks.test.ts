import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import type { FieldDropped } from '../../observability/events.ts';
import { DEEPSEEK_QUIRKS } from '../deepseek/deepseek.ts';
import { GROQ_QUIRKS } from '../groq/groq.ts';
import { MISTRAL_QUIRKS } from '../mistral/mistral.ts';
import type { AttemptOptions, ChatRequest } from '../types.ts';
import { XAI_QUIRKS } from '../xai/xai.ts';
import { withoutUnaccepted, type OpenAIQuirks } from './quirks.ts';

const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0.5, top_k: 5 };
const fromMessages = { requestId: 'req-1', droppable: new Set(['top_k']) } as unknown as AttemptOptions;

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

describe('withoutUnaccepted', () => {
  it('drops a droppable field for OpenAI itself and for every OpenAI-like provider that does not list it, saying so', () => {
    for (const quirks of [undefined, GROQ_QUIRKS, MISTRAL_QUIRKS, DEEPSEEK_QUIRKS, XAI_QUIRKS]) {
      let sent: ChatRequest | undefined;
      const events = dropped(() => (sent = withoutUnaccepted(request, fromMessages, { name: 'up', quirks })));
      expect(sent).toEqual({ model: 'm', messages: request.messages, temperature: 0.5 });
      expect(events).toEqual([{ requestId: 'req-1', provider: 'up', field: 'top_k' }]);
    }
    expect(request['top_k']).toBe(5); // the caller's request is left as it is, for the next target
  });

  it('keeps it for a provider that lists it, and keeps every field of a chat caller', () => {
    const takesTopK: OpenAIQuirks = { label: 'x', acceptedFields: new Set(['top_k']), normalizeAnswers: false };
    expect(withoutUnaccepted(request, fromMessages, { name: 'up', quirks: takesTopK })).toBe(request);
    const fromChat = { requestId: 'req-2' } as unknown as AttemptOptions;
    expect(dropped(() => expect(withoutUnaccepted(request, fromChat, { name: 'up' })).toBe(request))).toEqual([]);
  });
});
