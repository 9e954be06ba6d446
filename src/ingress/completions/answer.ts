import { SSE_DONE, sseData } from '../../server/sse.ts';
import type { AnswerWriter, ChatChunk, ChatCompletion } from '../chat-answer.ts';
import { sseError } from '../../server/sse.ts';

/** The internal chat answer as a legacy `text_completion` (or its stream of chunks). */
export class CompletionAnswer implements AnswerWriter {
  readonly #model: string;
  /** The prompt, written before the answer when the caller asked for `echo`. */
  readonly #echo: string;
  readonly #includeUsage: boolean;
  readonly #created = Math.floor(Date.now() / 1000);
  #id = '';
  readonly #echoed = new Set<number>();
  #finished = false;
  #failure: string | undefined;
  #sawFinish = false;

  constructor(options: { model: string; echo: string; includeUsage: boolean }) {
    this.#model = options.model;
    this.#echo = options.echo;
    this.#includeUsage = options.includeUsage;
  }

  completion(answer: ChatCompletion): unknown {
    return {
      id: completionId(answer.id),
      object: 'text_completion',
      created: this.#created,
      model: answer.model ?? this.#model,
      choices: (answer.choices ?? []).map((choice, index) => ({
        text: this.#echo + (choice.message?.content ?? ''),
        index,
        logprobs: null,
        finish_reason: choice.finish_reason ?? 'stop',
      })),
      ...(answer.usage ? { usage: answer.usage } : {}),
    };
  }

  chunk(chunk: ChatChunk): string {
    this.#id ||= completionId(chunk.id);
    const head = { id: this.#id, object: 'text_completion', created: this.#created, model: chunk.model ?? this.#model };
    let out = '';
    for (const choice of chunk.choices ?? []) {
      const index = choice.index ?? 0;
      let text = choice.delta?.content ?? '';
      if (this.#echo !== '' && !this.#echoed.has(index)) {
        this.#echoed.add(index);
        text = this.#echo + text;
      }
      if (choice.finish_reason) this.#sawFinish = true;
      if (text === '' && !choice.finish_reason) continue;
      out += sseData({ ...head, choices: [{ text, index, logprobs: null, finish_reason: choice.finish_reason ?? null }] });
    }
    if (chunk.usage && this.#includeUsage) out += sseData({ ...head, choices: [], usage: chunk.usage });
    return out;
  }

  get failure(): string | undefined {
    return this.#failure;
  }

  end(): string {
    if (this.#finished) return '';
    if (!this.#sawFinish)
      return this.streamError('The upstream stream ended before its final event; the answer is incomplete.', 'upstream_error');
    this.#finished = true;
    return SSE_DONE;
  }

  streamError(message: string, code: string): string {
    this.#finished = true;
    this.#failure = code;
    return sseError(message, code);
  }
}

function completionId(chatId: string | undefined): string {
  return chatId ? `cmpl-${chatId.replace(/^chatcmpl-/, '')}` : `cmpl-${Date.now().toString(36)}`;
}
