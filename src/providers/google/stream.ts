import { mapUpstreamError } from '../upstream-errors.ts';
import { isRecord } from '../translate/request-parts.ts';
import { endOfStringLiteral } from '../translate/string-literal.ts';
import { StreamDialect } from '../translate/translators.ts';
import { geminiFinishReason, geminiUsage, readParts } from './response.ts';

/** `streamGenerateContent?alt=sse`: each event is a whole GenerateContentResponse holding the next parts. */
export class GeminiStream extends StreamDialect {
  /** The latest usageMetadata; every event repeats it, so it is read once, at the end. */
  #usageMetadata: unknown;
  /** The latest event when it went by unparsed: its usageMetadata is the latest, read at the end. */
  #unparsedUsage: string | undefined;
  #identified = false;

  event(_name: string | undefined, data: string): string {
    if (this.#identified) {
      const literal = textPartLiteral(data);
      if (literal !== undefined) {
        this.#unparsedUsage = data;
        return this.writer.textLiteral(literal);
      }
    }
    const event: unknown = JSON.parse(data);
    if (!isRecord(event)) return '';
    if (isRecord(event['error'])) {
      const code = event['error']['code'];
      return this.fail(mapUpstreamError(typeof code === 'number' ? code : 500, data, {}));
    }
    const responseId = typeof event['responseId'] === 'string' ? event['responseId'] : '';
    this.writer.identify(
      responseId ? `chatcmpl-${responseId}` : '',
      typeof event['modelVersion'] === 'string' ? event['modelVersion'] : undefined,
    );
    this.#identified = true;
    if (event['usageMetadata'] !== undefined) {
      this.#usageMetadata = event['usageMetadata'];
      this.#unparsedUsage = undefined;
    }
    const candidate = Array.isArray(event['candidates']) ? event['candidates'][0] : undefined;
    if (candidate === undefined && isRecord(event['promptFeedback']) && event['promptFeedback']['blockReason'] !== undefined) {
      this.finishReason = 'content_filter';
    }
    const parts = readParts(candidate, responseId, this.toolIndexes.size);
    let out = this.writer.begin() + this.writer.reasoning(parts.reasoning) + this.writer.text(parts.text);
    for (const call of parts.toolCalls) out += this.startToolCall(this.toolIndexes.size, call.id, call.name, call.arguments);
    this.finishReason = geminiFinishReason(isRecord(candidate) ? candidate['finishReason'] : undefined) ?? this.finishReason;
    return out;
  }

  /** Gemini has no end event: a stream that reported its finish reason is complete when it closes. */
  override close(): string {
    const metadata =
      this.#unparsedUsage === undefined
        ? this.#usageMetadata
        : (JSON.parse(this.#unparsedUsage) as Record<string, unknown>)['usageMetadata'];
    this.usage = geminiUsage(metadata) ?? this.usage;
    if (this.finishReason !== undefined && !this.writer.finished) return this.finish();
    return super.close();
  }
}

const TEXT_PART = '{"candidates":[{"content":{"parts":[{"text":';
const AFTER_TEXT = '}],"role":"model"},"index":0}]';

/**
 * The hot event, one candidate with one plain text part and nothing else about it (no
 * thought, no signature, no finish reason), as Gemini writes it: its text is already a JSON
 * string literal, cut out and reused without parsing. Any other event returns undefined.
 */
function textPartLiteral(data: string): string | undefined {
  if (!data.startsWith(TEXT_PART)) return undefined;
  const end = endOfStringLiteral(data, TEXT_PART.length);
  if (end === -1 || !data.startsWith(AFTER_TEXT, end)) return undefined;
  const next = data.charCodeAt(end + AFTER_TEXT.length);
  return next === 44 /* , */ || next === 125 /* } */ ? data.slice(TEXT_PART.length, end) : undefined;
}
