import { openAIUsage } from '../providers/translate/openai-output.ts';
import type { TokenUsage } from '../providers/types.ts';
import { SSE_DONE, sseData } from '../server/sse.ts';

interface CompletionMessage {
  role?: string;
  content?: string | null;
  refusal?: string;
  tool_calls?: { id?: string; type?: string; function?: { name?: string; arguments?: string } }[];
}

interface Completion {
  id?: string;
  created?: number;
  model?: string;
  system_fingerprint?: string;
  usage?: unknown;
  choices?: { index?: number; message?: CompletionMessage; finish_reason?: unknown }[];
}

/** Most characters one replayed content chunk carries, so long answers arrive as a stream, not one event. */
const CONTENT_CHUNK_CHARS = 256;

/**
 * A cached chat.completion as a well-formed chat.completion.chunk stream: the role, the
 * content in chunks, tool calls, the finish reason, the usage chunk when asked for (the answer's
 * own usage, else `usage`: what the upstream reported when it was stored), [DONE].
 */
export function replayAsStream(completionJson: string, includeUsage: boolean, usage?: TokenUsage): string {
  const completion = JSON.parse(completionJson) as Completion;
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
    ...(completion.system_fingerprint === undefined ? {} : { system_fingerprint: completion.system_fingerprint }),
  };
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string => sseData({ ...base, choices, ...extra });
  let out = '';
  for (const [position, choice] of (completion.choices ?? []).entries()) {
    const index = choice.index ?? position;
    const message = choice.message ?? {};
    out += chunk([{ index, delta: { role: message.role ?? 'assistant', content: '' }, finish_reason: null }]);
    const content = message.content ?? '';
    for (let start = 0; start < content.length;) {
      let end = Math.min(start + CONTENT_CHUNK_CHARS, content.length);
      // Never between the two halves of a surrogate pair (an emoji, say): each chunk is valid text.
      if (end < content.length && isHighSurrogate(content.charCodeAt(end - 1))) end--;
      out += chunk([{ index, delta: { content: content.slice(start, end) }, finish_reason: null }]);
      start = end;
    }
    if (message.refusal !== undefined) out += chunk([{ index, delta: { refusal: message.refusal }, finish_reason: null }]);
    if (message.tool_calls !== undefined) {
      const toolCalls = message.tool_calls.map((call, callIndex) => ({ index: callIndex, ...call }));
      out += chunk([{ index, delta: { tool_calls: toolCalls }, finish_reason: null }]);
    }
    out += chunk([{ index, delta: {}, finish_reason: choice.finish_reason ?? 'stop' }]);
  }
  if (includeUsage) {
    const reported = completion.usage ?? (usage === undefined ? undefined : openAIUsage(usage));
    if (reported !== undefined && reported !== null) out += chunk([], { usage: reported });
  }
  return out + SSE_DONE;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
