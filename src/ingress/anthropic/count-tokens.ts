import type { AttemptOutcome, ChatRequest, ResponseSink } from '../../providers/types.ts';
import { textOf } from '../../providers/translate/request-parts.ts';

type Counter = (text: string) => number;
let counter: Promise<Counter> | undefined;

/** o200k_base (OpenAI's current tokenizer), loaded on the first count: it takes a few hundred milliseconds. */
function loadCounter(): Promise<Counter> {
  counter ??= import('gpt-tokenizer/encoding/o200k_base').then(
    ({ countTokens }) =>
      (text: string) =>
        countTokens(text, { disallowedSpecial: new Set() }),
  );
  return counter;
}

/** Chat formatting adds a few tokens per message and to prime the answer, as OpenAI counts them. */
const PER_MESSAGE = 3;
const PRIMING = 3;

/**
 * An input-token count for a provider with no counting API: the o200k_base tokenizer over the
 * messages' text and the tool definitions. Exact for OpenAI's current models, an estimate elsewhere.
 */
export async function countTokensEstimate(request: ChatRequest, sink: ResponseSink): Promise<AttemptOutcome> {
  const count = await loadCounter();
  let tokens = PRIMING;
  for (const message of request.messages) {
    tokens += PER_MESSAGE + count(textOf(message.content));
    if (Array.isArray(message.tool_calls)) tokens += count(JSON.stringify(message.tool_calls));
  }
  if (request.tools !== undefined) tokens += count(JSON.stringify(request.tools));
  sink.start(200, 'application/json');
  sink.write(JSON.stringify({ input_tokens: tokens }));
  sink.end();
  return { kind: 'ok' };
}
