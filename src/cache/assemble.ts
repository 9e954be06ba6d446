import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * Rebuilds one OpenAI chat.completion from a complete chat.completion.chunk stream, so a
 * streamed answer can be cached in the same form as a JSON one. Returns undefined for a
 * stream that carried an error event or left a choice without its finish_reason, and for one
 * with neither [DONE] nor any choice: those are never cached. ([DONE] alone is not required:
 * some OpenAI-compatible servers never send it.)
 */
export function assembleStream(text: string): Record<string, unknown> | undefined {
  const assembly = new StreamAssembly();
  const parser = createParser({ onEvent: (event) => assembly.add(event) });
  parser.feed(text);
  return assembly.result();
}

interface ToolCallParts {
  id?: string;
  type?: string;
  name: string;
  arguments: string;
}

interface ChoiceParts {
  role: string;
  content: string | undefined;
  refusal: string | undefined;
  finishReason: unknown;
  toolCalls: ToolCallParts[];
}

interface ChunkDelta {
  role?: string;
  content?: string | null;
  refusal?: string | null;
  tool_calls?: { index: number; id?: string; type?: string; function?: { name?: string; arguments?: string } }[];
}

interface Chunk {
  id?: string;
  model?: string;
  created?: number;
  system_fingerprint?: string;
  error?: unknown;
  usage?: unknown;
  choices?: { index: number; delta?: ChunkDelta; finish_reason?: unknown }[];
}

class StreamAssembly {
  #head: Chunk | undefined;
  #usage: unknown;
  #done = false;
  #failed = false;
  readonly #choices: ChoiceParts[] = [];

  add(event: EventSourceMessage): void {
    if (event.data === '[DONE]') {
      this.#done = true;
      return;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(event.data) as Chunk;
    } catch {
      this.#failed = true;
      return;
    }
    if (chunk.error !== undefined) this.#failed = true;
    this.#head ??= chunk;
    if (chunk.usage !== undefined && chunk.usage !== null) this.#usage = chunk.usage;
    for (const choice of chunk.choices ?? []) this.#addChoice(choice);
  }

  #addChoice(choice: NonNullable<Chunk['choices']>[number]): void {
    const parts = (this.#choices[choice.index] ??= {
      role: 'assistant',
      content: undefined,
      refusal: undefined,
      finishReason: null,
      toolCalls: [],
    });
    const delta = choice.delta ?? {};
    if (delta.role !== undefined) parts.role = delta.role;
    if (typeof delta.content === 'string') parts.content = (parts.content ?? '') + delta.content;
    if (typeof delta.refusal === 'string') parts.refusal = (parts.refusal ?? '') + delta.refusal;
    for (const call of delta.tool_calls ?? []) {
      const tool = (parts.toolCalls[call.index] ??= { name: '', arguments: '' });
      if (call.id !== undefined) tool.id = call.id;
      if (call.type !== undefined) tool.type = call.type;
      tool.name += call.function?.name ?? '';
      tool.arguments += call.function?.arguments ?? '';
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) parts.finishReason = choice.finish_reason;
  }

  result(): Record<string, unknown> | undefined {
    const head = this.#head;
    if (this.#failed || head === undefined || (!this.#done && this.#choices.length === 0)) return undefined;
    if (this.#choices.some((choice) => choice.finishReason === null)) return undefined;
    return {
      id: head.id,
      object: 'chat.completion',
      created: head.created,
      model: head.model,
      ...(head.system_fingerprint === undefined ? {} : { system_fingerprint: head.system_fingerprint }),
      choices: this.#choices.map((choice, index) => ({
        index,
        message: {
          role: choice.role,
          content: choice.content ?? null,
          ...(choice.refusal === undefined ? {} : { refusal: choice.refusal }),
          ...(choice.toolCalls.length === 0
            ? {}
            : {
                tool_calls: choice.toolCalls.map((call) => ({
                  id: call.id,
                  type: call.type ?? 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }),
        },
        finish_reason: choice.finishReason,
      })),
      ...(this.#usage === undefined ? {} : { usage: this.#usage }),
    };
  }
}
