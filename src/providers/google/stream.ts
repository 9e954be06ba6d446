import { mapUpstreamError } from '../upstream-errors.ts';
import { isRecord } from '../translate/request-parts.ts';
import { StreamDialect } from '../translate/translators.ts';
import { geminiFinishReason, geminiUsage, readParts } from './response.ts';

/** `streamGenerateContent?alt=sse`: each event is a whole GenerateContentResponse holding the next parts. */
export class GeminiStream extends StreamDialect {
  /** The latest usageMetadata; every event repeats it, so it is read once, at the end. */
  #usageMetadata: unknown;

  event(_name: string | undefined, data: string): string {
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
    this.#usageMetadata = event['usageMetadata'] ?? this.#usageMetadata;
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
    this.usage = geminiUsage(this.#usageMetadata) ?? this.usage;
    if (this.finishReason !== undefined && !this.writer.finished) return this.finish();
    return super.close();
  }
}
