import { StringDecoder } from 'node:string_decoder';
import { createParser } from 'eventsource-parser';
import type { ResponseSink } from '../providers/types.ts';
import type { ClientStream } from './client-stream.ts';
import type { ToolCall } from './tool-exec.ts';
import { Buffer } from 'node:buffer';

/** What one model turn said, assembled from a JSON body or from stream deltas. */
export interface TurnResult {
  readonly content: string;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: string | null;
  /** Signed reasoning blocks (Anthropic extended thinking), sent back with the tool calls on the next turn. */
  readonly thinkingBlocks: readonly unknown[];
}

interface ChunkChoice {
  index?: number;
  delta?: { role?: string; content?: string | null; refusal?: string | null; tool_calls?: ToolCallDelta[]; [field: string]: unknown };
  finish_reason?: string | null;
  [field: string]: unknown;
}

interface ToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

type Chunk = { choices?: ChunkChoice[]; usage?: unknown; error?: { message?: string }; [field: string]: unknown };

/** A non-streamed turn, captured whole (it is one JSON body) so the loop can decide before the client sees it. */
export class JsonTurn {
  readonly #chunks: Buffer[] = [];
  body: Record<string, unknown> | undefined;

  readonly sink: ResponseSink = {
    start: () => undefined,
    write: (chunk) => {
      this.#chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      return true;
    },
    onDrain: (resume) => resume(),
    end: () => undefined,
  };

  get raw(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  result(): TurnResult {
    this.body = JSON.parse(this.raw.toString('utf8')) as Record<string, unknown>;
    const choice = (this.body['choices'] as { message?: Record<string, unknown>; finish_reason?: string | null }[] | undefined)?.[0];
    const message = choice?.message ?? {};
    const calls = Array.isArray(message['tool_calls'])
      ? (message['tool_calls'] as { id?: string; function?: { name?: string; arguments?: string } }[])
      : [];
    return {
      content: typeof message['content'] === 'string' ? message['content'] : '',
      toolCalls: calls.map((call) => ({ id: call.id ?? '', name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' })),
      finishReason: choice?.finish_reason ?? null,
      thinkingBlocks: Array.isArray(message['thinking_blocks']) ? message['thinking_blocks'] : [],
    };
  }
}

/**
 * A streamed turn, read event by event as it arrives: text deltas go to the client at
 * once (a final answer streams live); tool-call deltas, the finish reason and usage are
 * held until the turn ends and the loop knows whether it was the last.
 */
export class StreamTurn {
  readonly #client: ClientStream;
  readonly #decoder = new StringDecoder('utf8');
  readonly #calls: { id: string; name: string; arguments: string }[] = [];
  #content = '';
  readonly #thinkingBlocks: unknown[] = [];
  #finishReason: string | null = null;
  #writable = true;
  envelope: Record<string, unknown> = {};
  error: string | undefined;

  readonly #parser = createParser({ onEvent: (event) => this.#onEvent(event.data) });

  constructor(client: ClientStream) {
    this.#client = client;
  }

  readonly sink: ResponseSink = {
    start: (_status, contentType) => {
      if (!contentType.startsWith('text/event-stream')) this.error = 'The upstream answered a streamed request without a stream.';
    },
    write: (chunk) => {
      if (this.error !== undefined) return true;
      this.#writable = true;
      this.#parser.feed(typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
      return this.#writable;
    },
    onDrain: (resume) => this.#client.onDrain(resume),
    end: () => this.#parser.feed(`${this.#decoder.end()}\n\n`),
  };

  result(): TurnResult {
    return {
      content: this.#content,
      toolCalls: this.#calls.filter((call) => call.name !== ''),
      finishReason: this.#finishReason,
      thinkingBlocks: this.#thinkingBlocks,
    };
  }

  #onEvent(data: string): void {
    if (data === '[DONE]') return;
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      return;
    }
    if (chunk.error !== undefined) {
      this.error = chunk.error.message ?? 'The upstream stream reported an error.';
      return;
    }
    const { choices, usage: _usage, ...envelope } = chunk;
    this.envelope = envelope;
    const choice = choices?.[0];
    if (choice === undefined) return;
    const delta = choice.delta ?? {};
    for (const call of delta.tool_calls ?? []) this.#addCallDelta(call);
    if (typeof delta.content === 'string') this.#content += delta.content;
    if (Array.isArray(delta['thinking_blocks'])) this.#thinkingBlocks.push(...(delta['thinking_blocks'] as unknown[]));
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) this.#finishReason = choice.finish_reason;
    const held = (delta.tool_calls?.length ?? 0) > 0 || (choice.finish_reason ?? null) !== null || (chunk.usage ?? null) !== null;
    if (!held) return this.#forward(`data: ${data}\n\n`, delta.role !== undefined);
    const { tool_calls: _calls, ...rest } = delta;
    if ((typeof rest.content === 'string' && rest.content !== '') || (typeof rest.refusal === 'string' && rest.refusal !== '')) {
      this.#forward(
        `data: ${JSON.stringify({ ...envelope, choices: [{ ...choice, delta: rest, finish_reason: null }] })}\n\n`,
        rest.role !== undefined,
      );
    }
  }

  #forward(event: string, carriesRole: boolean): void {
    if (carriesRole) this.#client.markRoleSent();
    if (!this.#client.write(event)) this.#writable = false;
  }

  #addCallDelta(delta: ToolCallDelta): void {
    const index = delta.index ?? this.#calls.length;
    const call = (this.#calls[index] ??= { id: '', name: '', arguments: '' });
    if (delta.id) call.id = delta.id;
    if (delta.function?.name) call.name += delta.function.name;
    if (delta.function?.arguments) call.arguments += delta.function.arguments;
  }
}
