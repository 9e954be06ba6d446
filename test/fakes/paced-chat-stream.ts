import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** One OpenAI chat-completion chunk as an SSE event. */
export const chatChunkEvent = (id: string, choices: unknown[], extra: Record<string, unknown> = {}): string =>
  `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-mini', choices, ...extra })}\n\n`;

export interface PacedStream {
  readonly id: string;
  readonly words: readonly string[];
  /** Between two events. */
  readonly gapMs: number;
  /** The usage chunk's usage, sent when `includeUsage`. */
  readonly usage: unknown;
  readonly includeUsage: boolean;
  /**
   * Called before the word at `index` is sent; true when it has ended the response itself (a
   * stream cut short, say), and the rest is not sent.
   */
  readonly endsBefore?: (index: number, res: ServerResponse) => boolean;
}

/**
 * An OpenAI chat stream as a slow upstream sends it, an event every `gapMs`: the role, one word a
 * chunk, the finish, the usage chunk when asked for, and [DONE]. Resolves when the last byte is written.
 */
export async function writePacedChatStream(res: ServerResponse, stream: PacedStream): Promise<void> {
  const { id, gapMs } = stream;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  await sleep(gapMs);
  res.write(chatChunkEvent(id, [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
  for (const [index, word] of stream.words.entries()) {
    await sleep(gapMs);
    if (stream.endsBefore?.(index, res) === true) return;
    res.write(chatChunkEvent(id, [{ index: 0, delta: { content: word }, finish_reason: null }]));
  }
  await sleep(gapMs);
  res.write(chatChunkEvent(id, [{ index: 0, delta: {}, finish_reason: 'stop' }]));
  if (stream.includeUsage) res.write(chatChunkEvent(id, [], { usage: stream.usage }));
  res.end('data: [DONE]\n\n');
}
