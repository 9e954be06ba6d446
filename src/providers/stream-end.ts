import { Buffer } from 'node:buffer';
import { createParser } from 'eventsource-parser';
import { isRecord } from './translate/request-parts.ts';
import type { RelayRequest } from './types.ts';

/**
 * Whether a stream passed on unparsed reached its final event, read once from its last bytes
 * (those the transport keeps for usage). A stream that ended without it was cut, however
 * cleanly the connection closed.
 */
export type StreamEndCheck = (tail: readonly Buffer[]) => boolean;

const DONE = /(?:^|[\r\n])data: ?\[DONE\]\s*$/;

/**
 * An OpenAI-format stream (chat or legacy completions) is complete with `data: [DONE]` as its
 * last event or, for servers that never send it, with a finish_reason on every choice its last
 * bytes show (at least one). Only a stream without [DONE] is parsed, and only its last bytes.
 */
export const openAIStreamEnded: StreamEndCheck = (tail) => DONE.test(lastBytes(tail, 32)) || everyChoiceFinished(tail);

const MESSAGE_STOP = /(?:^|[\r\n])event: ?message_stop[\r\n]|"type": ?"message_stop"/;

/** An Anthropic Messages stream is complete once `message_stop` came (an error event before it is a failure). */
export const anthropicStreamEnded: StreamEndCheck = (tail) => MESSAGE_STOP.test(lastBytes(tail, 256));

/** The end check for a relayed request's stream; none for the Responses API, whose streams are not checked. */
export function relayStreamEnd(request: RelayRequest): { streamEnded?: StreamEndCheck } {
  if (!request.stream) return {};
  switch (request.api) {
    case 'openai-completions':
      return { streamEnded: openAIStreamEnded };
    case 'anthropic-messages':
      return { streamEnded: anthropicStreamEnded };
    case 'openai-responses':
      return {};
  }
}

/** The answer's last `count` bytes (all of it when shorter) as latin1 text: one character per byte. */
function lastBytes(tail: readonly Buffer[], count: number): string {
  let text = '';
  for (let at = tail.length - 1; at >= 0 && text.length < count; at--) {
    const chunk = tail[at] as Buffer;
    text = chunk.toString('latin1', Math.max(0, chunk.length - (count - text.length))) + text;
  }
  return text;
}

/** Every choice in the chunks of the last bytes has a finish_reason; the first event, likely cut by the window, is skipped when unreadable. */
function everyChoiceFinished(tail: readonly Buffer[]): boolean {
  const started = new Set<number>();
  const finished = new Set<number>();
  const parser = createParser({
    onEvent: ({ data }) => {
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        return;
      }
      const choices = isRecord(chunk) && Array.isArray(chunk['choices']) ? chunk['choices'] : [];
      for (const choice of choices) {
        if (!isRecord(choice)) continue;
        const index = typeof choice['index'] === 'number' ? choice['index'] : 0;
        started.add(index);
        if (choice['finish_reason'] !== undefined && choice['finish_reason'] !== null) finished.add(index);
      }
    },
  });
  parser.feed(Buffer.concat(tail).toString('utf8'));
  parser.feed('\n\n');
  return finished.size > 0 && finished.size === started.size;
}
