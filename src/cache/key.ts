import { partitionFor } from './semantic/embedders.ts';
import { hash } from 'node:crypto';
import type { CachePolicyConfig } from '../config/cache-schema.ts';
import { addressId, type AnswerAddress } from './answer-store.ts';
import { canonicalJson } from '../mcp/canonical-json.ts';
import type { ChatMessage, ChatRequest } from '../providers/types.ts';
import { RecentValues } from '../state/recent-values.ts';

/** Request fields that do not change the answer: how it is delivered, or who asked. */
const DELIVERY_FIELDS = new Set(['model', 'stream', 'stream_options', 'user', 'metadata', 'store', 'service_tier']);

export interface CacheTarget {
  readonly provider: string;
  readonly upstreamModel: string;
}

export function sha256(text: string): string {
  return hash('sha256', text);
}

/** The policy's namespace, plus a hash of the caller's key when entries are per key (never the key itself). */
export function cacheNamespace(policy: CachePolicyConfig, authorization: string | undefined): string {
  if (!policy.per_key) return policy.namespace;
  return `${policy.namespace}.${sha256(authorization ?? '').slice(0, 16)}`;
}

/** Every field that changes the answer, with the target instead of the requested model name. */
function answerFields(request: ChatRequest, target: CacheTarget, without: ReadonlySet<string>): Record<string, unknown> {
  const fields: Record<string, unknown> = { target: `${target.provider}/${target.upstreamModel}` };
  for (const [name, value] of Object.entries(request)) {
    if (!DELIVERY_FIELDS.has(name) && !without.has(name)) fields[name] = value;
  }
  return fields;
}

/** The exact-cache key: a hash of the canonical (key-sorted) answer-changing fields and the namespace. */
export function exactKey(request: ChatRequest, target: CacheTarget, namespace: string): string {
  return sha256(canonicalJson({ namespace, request: answerFields(request, target, new Set()) }));
}

/** Longer bodies are keyed afresh each time: remembering them would hold much memory for one key. */
const MOST_REMEMBERED_BODY_CHARACTERS = 16 * 1024;
const REMEMBERED_CHARACTERS = 4 * 1024 * 1024;

/** An address remembered for one body text, with what else it was derived from. */
interface RememberedAddress {
  readonly namespace: string;
  readonly provider: string;
  readonly upstreamModel: string;
  readonly address: AnswerAddress;
}

/**
 * `cacheNamespace` and the exact-cache address, remembered: a repeat (what a cache is for)
 * usually arrives byte for byte the same, from the same caller, and looking its text up costs a
 * fraction of sorting, serializing and hashing it again. Only for a request that is still its
 * body as parsed, since the key is then a function of that text, the target and the namespace
 * alone. Keyed by the body text itself (no string is built per lookup); the namespace and target
 * it was made for are checked on the way out. The address comes back as the same object each
 * time, its id one string whose hash V8 has kept, so the answer store's lookup hashes nothing.
 */
export class RememberedKeys {
  readonly #addresses = new RecentValues<RememberedAddress>(REMEMBERED_CHARACTERS);
  readonly #namespaces = new RecentValues<string>(REMEMBERED_CHARACTERS);

  namespace(policy: CachePolicyConfig, authorization: string | undefined): string {
    if (!policy.per_key) return policy.namespace;
    const text = `${policy.namespace}\n${authorization ?? ''}`;
    let namespace = this.#namespaces.get(text);
    if (namespace === undefined) {
      namespace = cacheNamespace(policy, authorization);
      this.#namespaces.set(text, namespace);
    }
    return namespace;
  }

  address(request: ChatRequest, target: CacheTarget, namespace: string, bodyText: string | undefined): AnswerAddress {
    if (bodyText === undefined || bodyText.length > MOST_REMEMBERED_BODY_CHARACTERS) return addressOf(request, target, namespace);
    const remembered = this.#addresses.get(bodyText);
    if (
      remembered !== undefined &&
      remembered.namespace === namespace &&
      remembered.provider === target.provider &&
      remembered.upstreamModel === target.upstreamModel
    ) {
      return remembered.address;
    }
    const address = addressOf(request, target, namespace);
    this.#addresses.set(bodyText, { namespace, provider: target.provider, upstreamModel: target.upstreamModel, address });
    return address;
  }

  exact(request: ChatRequest, target: CacheTarget, namespace: string, bodyText: string | undefined): string {
    return this.address(request, target, namespace, bodyText).key;
  }
}

function addressOf(request: ChatRequest, target: CacheTarget, namespace: string): AnswerAddress {
  const address = { namespace, model: request.model, key: exactKey(request, target, namespace) };
  return { ...address, id: addressId(address) };
}

const WITHOUT_MESSAGES = new Set(['messages']);

export interface SemanticQuery {
  /** Everything that must match exactly: namespace, target, fields, and the messages not embedded. */
  readonly partition: string;
  /** The text that is embedded and compared. */
  readonly text: string;
}

/** Splits a request into what the semantic cache embeds and what must match exactly; undefined when there is no user text. */
export function semanticQuery(
  request: ChatRequest,
  target: CacheTarget,
  options: { readonly namespace: string; readonly embed: CachePolicyConfig['embed']; readonly embeddingModel?: string | undefined },
): SemanticQuery | undefined {
  const { messages } = request;
  const last = messages.at(-1);
  if (last === undefined || last.role !== 'user') return undefined;
  const fields = answerFields(request, target, WITHOUT_MESSAGES);
  if (options.embed === 'last_user') {
    const text = messageText(last);
    if (text === undefined) return undefined;
    const partition = sha256(canonicalJson({ namespace: options.namespace, fields, earlier: messages.slice(0, -1) }));
    return { text, partition: partitionFor(partition, options.embeddingModel) };
  }
  const fixed = messages.filter((message) => message.role === 'system' || message.role === 'developer');
  const texts = messages.filter((message) => !fixed.includes(message)).map((message) => `${message.role}: ${messageText(message) ?? ''}`);
  const partition = sha256(canonicalJson({ namespace: options.namespace, fields, fixed }));
  return { text: texts.join('\n'), partition: partitionFor(partition, options.embeddingModel) };
}

/** Plain text of a message; undefined when it carries anything else (images, tool calls), which only the exact cache matches. */
function messageText(message: ChatMessage): string | undefined {
  if (message.tool_calls !== undefined) return undefined;
  if (typeof message.content === 'string') return message.content;
  if (!Array.isArray(message.content)) return undefined;
  let text = '';
  for (const part of message.content as unknown[]) {
    if (typeof part !== 'object' || part === null) return undefined;
    const { type, text: partText } = part as { type?: unknown; text?: unknown };
    if (type !== 'text' || typeof partText !== 'string') return undefined;
    text += partText;
  }
  return text;
}
