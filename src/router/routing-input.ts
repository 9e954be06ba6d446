import type { ChatRequest, EmbeddingsRequest } from '../providers/types.ts';
import { GatewayError } from '../server/errors.ts';
import type { HeaderLookup } from '../server/request-headers.ts';
import type { Capability } from './model-catalog.ts';
import { TimeFacts, type CallerFields, type RequestFields, type RuleScope } from './rules/rule-fields.ts';

export type RoutedRequest =
  { readonly kind: 'chat'; readonly body: ChatRequest } | { readonly kind: 'embeddings'; readonly body: EmbeddingsRequest };

const IMAGE_TOKENS = 765;
const CHARS_PER_TOKEN = 4;

/**
 * What routing may look at for one request. Everything is computed on first use, so a
 * model whose strategy reads nothing (single, fallback) pays nothing for it.
 */
export class RoutingInput {
  readonly request: RoutedRequest;
  /** The request's headers, by lower-case name. */
  readonly header: HeaderLookup;
  readonly keyName: string | undefined;
  #estimatedTokens: number | undefined;
  #needs: readonly Capability[] | undefined;
  #metadata: Readonly<Record<string, unknown>> | undefined;
  #tags: readonly string[] | undefined;
  #scope: RuleScope | undefined;
  /** Names of the routing rules that chose this request's plan, outermost first. */
  matchedRules: string[] | undefined;

  constructor(request: RoutedRequest, header: HeaderLookup, keyName?: string) {
    this.request = request;
    this.header = header;
    this.keyName = keyName;
  }

  get model(): string {
    return this.request.body.model;
  }

  /** Prompt tokens, estimated at four characters a token (images count as a high-detail tile set). */
  get estimatedTokens(): number {
    return (this.#estimatedTokens ??= estimateTokens(this.request));
  }

  /** Output tokens the request allows, when it says. */
  get maxOutputTokens(): number | undefined {
    if (this.request.kind === 'embeddings') return 0;
    const { max_completion_tokens: completion, max_tokens: tokens } = this.request.body;
    const limit = typeof completion === 'number' ? completion : tokens;
    return typeof limit === 'number' ? limit : undefined;
  }

  /** Capabilities a target must have to serve this request. */
  get needs(): readonly Capability[] {
    return (this.#needs ??= requiredCapabilities(this.request));
  }

  get user(): string | undefined {
    const fromBody = this.request.body['user'];
    if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
    const header = this.header('x-lightport-user');
    return header !== undefined && header !== '' ? header : undefined;
  }

  /** The `x-lightport-metadata` header: a JSON object. */
  get metadata(): Readonly<Record<string, unknown>> {
    return (this.#metadata ??= parseMetadata(this.header('x-lightport-metadata')));
  }

  /** The `x-lightport-tags` header: comma-separated. */
  get tags(): readonly string[] {
    if (this.#tags !== undefined) return this.#tags;
    const header = this.header('x-lightport-tags');
    return (this.#tags = header !== undefined && header !== '' ? tagHeaders.get(header) : NO_TAGS);
  }

  /** The objects routing rules read: `request`, `caller` and `time`. */
  get scope(): RuleScope {
    return (this.#scope ??= { request: new RequestFacts(this), caller: new CallerFacts(this), time: new TimeFacts(Date.now()) });
  }
}

/** What the request and caller objects of a rule share: who asks, with which metadata and tags. */
class CallerView {
  protected readonly input: RoutingInput;
  constructor(input: RoutingInput) {
    this.input = input;
  }
  get user(): string | undefined {
    return this.input.user;
  }
  get metadata(): Readonly<Record<string, unknown>> {
    return this.input.metadata;
  }
  get tags(): readonly string[] {
    return this.input.tags;
  }
}

class RequestFacts extends CallerView implements RequestFields {
  get model(): string {
    return this.input.model;
  }
  get kind(): string {
    return this.input.request.kind;
  }
  get messageCount(): number {
    const { request } = this.input;
    return request.kind === 'chat' ? request.body.messages.length : 0;
  }
  get estimatedTokens(): number {
    return this.input.estimatedTokens;
  }
  get maxTokens(): number | undefined {
    return this.input.maxOutputTokens;
  }
  get tools(): string[] {
    const { request } = this.input;
    if (request.kind !== 'chat') return [];
    return (request.body.tools ?? []).flatMap((tool) => (tool.function ? [tool.function.name] : [tool.type]));
  }
  get stream(): boolean {
    const { request } = this.input;
    return request.kind === 'chat' && request.body.stream === true;
  }
  get images(): boolean {
    return this.input.needs.includes('vision');
  }
  get jsonSchema(): boolean {
    return this.input.needs.includes('json_schema');
  }
}

class CallerFacts extends CallerView implements CallerFields {
  get key(): string | undefined {
    return this.input.keyName;
  }
}

/**
 * Parsed header values by their exact text: callers tend to send the same few (one per
 * tenant or plan), and a lookup is cheaper than a parse. Values are frozen (rules only
 * read them); a full cache is emptied.
 */
class ParsedHeaders<T> {
  readonly #parse: (text: string) => T;
  readonly #entries = new Map<string, T>();
  constructor(parse: (text: string) => T) {
    this.#parse = parse;
  }
  #lastText = '';
  #lastValue: T | undefined;
  get(text: string): T {
    // Most traffic repeats one header value: an equal string is cheaper to compare than to hash.
    if (text === this.#lastText && this.#lastValue !== undefined) return this.#lastValue;
    let value = this.#entries.get(text);
    if (value === undefined) {
      value = deepFreeze(this.#parse(text));
      if (this.#entries.size >= 512) this.#entries.clear();
      this.#entries.set(text, value);
    }
    this.#lastText = text;
    this.#lastValue = value;
    return value;
  }
}

const NO_METADATA: Readonly<Record<string, unknown>> = Object.freeze({});
const NO_TAGS: readonly string[] = Object.freeze([]);
const metadataHeaders = new ParsedHeaders(parseMetadataText);
const tagHeaders = new ParsedHeaders((text) =>
  text
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean),
);

function parseMetadata(header: string | string[] | undefined): Readonly<Record<string, unknown>> {
  return typeof header === 'string' && header !== '' ? metadataHeaders.get(header) : NO_METADATA;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function parseMetadataText(header: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(header);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('invalid_request', 'x-lightport-metadata must be a JSON object.', { param: 'x-lightport-metadata' });
  }
  return parsed as Record<string, unknown>;
}

function estimateTokens(request: RoutedRequest): number {
  let characters = 0;
  let tokens = 0;
  if (request.kind === 'embeddings') {
    const inputs = Array.isArray(request.body.input) ? request.body.input : [request.body.input];
    for (const input of inputs) {
      if (typeof input === 'string') characters += input.length;
      else if (Array.isArray(input)) tokens += input.length;
      else tokens += 1;
    }
    return tokens + Math.ceil(characters / CHARS_PER_TOKEN);
  }
  for (const message of request.body.messages) {
    tokens += 4;
    const content = message.content;
    if (typeof content === 'string') characters += content.length;
    else if (Array.isArray(content)) {
      for (const part of content as Array<{ type?: unknown; text?: unknown }>) {
        if (typeof part.text === 'string') characters += part.text.length;
        else if (part.type === 'image_url' || part.type === 'input_image') tokens += IMAGE_TOKENS;
      }
    }
  }
  if (request.body.tools !== undefined) characters += JSON.stringify(request.body.tools).length;
  return tokens + Math.ceil(characters / CHARS_PER_TOKEN);
}

function requiredCapabilities(request: RoutedRequest): Capability[] {
  if (request.kind === 'embeddings') return ['embeddings'];
  const body = request.body;
  const needs: Capability[] = [];
  if ((body.tools?.length ?? 0) > 0) needs.push('tools');
  if (body.stream === true) needs.push('streaming');
  const format = body['response_format'];
  if (typeof format === 'object' && format !== null && (format as { type?: unknown }).type === 'json_schema') needs.push('json_schema');
  const hasImage = body.messages.some(
    (message) =>
      Array.isArray(message.content) &&
      (message.content as Array<{ type?: unknown }>).some((part) => part.type === 'image_url' || part.type === 'input_image'),
  );
  if (hasImage) needs.push('vision');
  return needs;
}
