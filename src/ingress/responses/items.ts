import { randomBytes } from 'node:crypto';
import type { ChatMessage } from '../../providers/types.ts';
import { GatewayError } from '../../server/errors.ts';
import type { ThinkingBlock } from '../../providers/translate/openai-output.ts';
import { isRecord } from '../../providers/translate/request-parts.ts';
import { thinkingBlocksOfItem } from './thinking.ts';

/** One Responses API item (message, function_call, function_call_output, reasoning...), as JSON. */
export type Item = Record<string, unknown>;

export function newId(prefix: 'resp' | 'msg' | 'fc' | 'rs'): string {
  const random = randomBytes(24).toString('hex');
  // The gateway's reasoning items must be told from OpenAI's (see thinking.ts): their ids carry a mark OpenAI's hex ids never have.
  return prefix === 'rs' ? `${GATEWAY_REASONING_ID}${random}` : `${prefix}_${random}`;
}

/** How the ids of the reasoning items the gateway makes begin. */
export const GATEWAY_REASONING_ID = 'rs_lp_';

/** The request's `input` as items, each with an id (as OpenAI lists them in `input_items`). */
export function inputItems(input: string | readonly Item[]): Item[] {
  if (typeof input === 'string') {
    return [{ id: newId('msg'), type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_text', text: input }] }];
  }
  return input.map((item) => {
    const type = item['type'] ?? 'message';
    const withType: Item = { ...item, type };
    if (type === 'message' && typeof item['content'] === 'string') {
      const partType = item['role'] === 'assistant' ? 'output_text' : 'input_text';
      withType['content'] = [{ type: partType, text: item['content'] }];
    }
    if (typeof withType['id'] !== 'string') withType['id'] = newId(type === 'function_call' ? 'fc' : type === 'reasoning' ? 'rs' : 'msg');
    return withType;
  });
}

/**
 * Items as chat messages. Consecutive function calls (and the text just before them) are one
 * assistant turn with several tool calls; each function_call_output is a tool message. A
 * reasoning item's Claude thinking blocks (see thinking.ts) go with the assistant turn after it,
 * as its `thinking_blocks`; other reasoning items have no chat equivalent and are left out.
 */
export function toChatMessages(items: readonly Item[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  let thinking: ThinkingBlock[] = [];
  const withThinking = (message: ChatMessage): ChatMessage => {
    if (thinking.length === 0) return message;
    const earlier = Array.isArray(message['thinking_blocks']) ? (message['thinking_blocks'] as ThinkingBlock[]) : [];
    message['thinking_blocks'] = [...earlier, ...thinking];
    thinking = [];
    return message;
  };
  for (const [index, item] of items.entries()) {
    const where = `input[${index}]`;
    switch (item['type']) {
      case 'message': {
        const message = messageOf(item, where);
        if (message.role !== 'assistant') thinking = []; // a turn of the caller's: the reasoning was an answer's that had nothing more
        messages.push(message.role === 'assistant' ? withThinking(message) : message);
        break;
      }
      case 'function_call':
        withThinking(addToolCall(messages, item));
        break;
      case 'function_call_output':
        thinking = [];
        messages.push({ role: 'tool', tool_call_id: String(item['call_id']), content: outputText(item['output']) });
        break;
      case 'reasoning':
        thinking.push(...thinkingBlocksOfItem(item));
        break;
      default:
        throw new GatewayError('unsupported_parameter', `Input items of type '${String(item['type'])}' need an OpenAI model.`, {
          param: `${where}.type`,
        });
    }
  }
  return messages;
}

/** The function call added to the assistant turn it belongs to (the last message, or a new one), which is returned. */
function addToolCall(messages: ChatMessage[], item: Item): ChatMessage {
  const call = {
    id: String(item['call_id']),
    type: 'function',
    function: { name: String(item['name']), arguments: String(item['arguments'] ?? '') },
  };
  const last = messages.at(-1);
  if (last?.role === 'assistant') {
    (last.tool_calls ??= []).push(call);
    return last;
  }
  const message: ChatMessage = { role: 'assistant', content: null, tool_calls: [call] };
  messages.push(message);
  return message;
}

function messageOf(item: Item, where: string): ChatMessage {
  const role = item['role'];
  const parts = Array.isArray(item['content']) ? item['content'].filter(isRecord) : [];
  if (role === 'assistant') return { role: 'assistant', content: parts.map((part) => textOfPart(part, where)).join('') };
  if (role === 'system' || role === 'developer') return { role: 'system', content: parts.map((part) => textOfPart(part, where)).join('') };
  if (role !== 'user')
    throw new GatewayError('invalid_request', `Invalid value for 'role': '${String(role)}'.`, { param: `${where}.role` });
  return { role: 'user', content: parts.map((part) => userPart(part, where)) };
}

function textOfPart(part: Item, where: string): string {
  if (typeof part['text'] === 'string') return part['text'];
  if (part['type'] === 'refusal' && typeof part['refusal'] === 'string') return part['refusal'];
  throw new GatewayError('unsupported_parameter', `Content of type '${String(part['type'])}' cannot go to this model's provider.`, {
    param: `${where}.content`,
  });
}

function userPart(part: Item, where: string): unknown {
  if (part['type'] === 'input_image' && typeof part['image_url'] === 'string') {
    return {
      type: 'image_url',
      image_url: { url: part['image_url'], ...(typeof part['detail'] === 'string' ? { detail: part['detail'] } : {}) },
    };
  }
  return { type: 'text', text: textOfPart(part, where) };
}

function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) return JSON.stringify(output ?? '');
  return output.map((part: unknown) => (isRecord(part) && typeof part['text'] === 'string' ? part['text'] : '')).join('');
}
