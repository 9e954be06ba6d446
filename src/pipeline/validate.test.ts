import { describe, expect, it } from 'vitest';
import { GatewayError } from '../server/errors.ts';
import { parseCountTokensRequest, parseMessagesRequest } from '../ingress/anthropic/request.ts';
import { parseCompletionsRequest } from '../ingress/completions/request.ts';
import { parseChatRequest, parseEmbeddingsRequest } from './validate.ts';

const user = [{ role: 'user', content: 'hi' }];
const chat = (fields: Record<string, unknown>) => ({ model: 'm', messages: user, ...fields });

function refusal(parse: (body: unknown) => unknown, body: unknown): GatewayError | undefined {
  try {
    parse(body);
    return undefined;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
}

// The fast check (ajv, compiled from the zod schema) must accept exactly what zod accepts:
// a body it let through wrongly would reach the pipeline unchecked.
describe('chat request check', () => {
  it.each([
    ['the minimal request', chat({})],
    ['unknown fields', chat({ seed: 1, response_format: { type: 'json_object' }, logit_bias: { '1': 2 } })],
    ['nulls where allowed', chat({ stream: null, stream_options: null, n: null, temperature: null, top_p: null, max_tokens: null })],
    ['limits at their edges', chat({ n: 128, temperature: 2, top_p: 0, max_tokens: 1, max_completion_tokens: 9_007_199_254_740_991 })],
    [
      'content parts, null content and tools',
      {
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'image_url', image_url: { url: 'x' } },
            ],
          },
          { role: 'assistant', content: null, tool_calls: [] },
          { role: 'tool', tool_call_id: 'c', content: 'r' },
        ],
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }, { type: 'web_search' }],
      },
    ],
  ])('accepts %s, as the very body (no copy)', (_, body) => {
    expect(parseChatRequest(body)).toBe(body);
  });

  it.each([
    ['no model', { messages: user }, 'model'],
    ['an empty model', chat({ model: '' }), 'model'],
    ['no messages', { model: 'm', messages: [] }, 'messages'],
    ['an unknown role', chat({ messages: [{ role: 'robot', content: 'x' }] }), 'messages[0].role'],
    ['content of the wrong type', chat({ messages: [{ role: 'user', content: 5 }] }), 'messages[0].content'],
    ['a content part without type', chat({ messages: [{ role: 'user', content: [{ text: 'x' }] }] }), 'messages[0].content'],
    ['a string stream', chat({ stream: 'yes' }), 'stream'],
    ['a fractional n', chat({ n: 1.5 }), 'n'],
    ['n over 128', chat({ n: 129 }), 'n'],
    ['temperature over 2', chat({ temperature: 2.5 }), 'temperature'],
    ['zero max_tokens', chat({ max_tokens: 0 }), 'max_tokens'],
    ['an unsafe integer', chat({ max_completion_tokens: 2 ** 53 }), 'max_completion_tokens'],
    ['a tool with an empty name', chat({ tools: [{ type: 'function', function: { name: '' } }] }), 'tools[0].function.name'],
    [
      'tool parameters as a list',
      chat({ tools: [{ type: 'function', function: { name: 'f', parameters: [] } }] }),
      'tools[0].function.parameters',
    ],
  ])('refuses %s', (_, body, param) => {
    const error = refusal(parseChatRequest, body);
    expect(error?.code).toBe('invalid_request');
    expect(error?.param).toBe(param);
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'text', 3])
      expect(refusal(parseChatRequest, body)?.message).toBe('The request body must be a JSON object.');
  });
});

describe('embeddings request check', () => {
  it.each([
    ['a string', 'a'],
    ['strings', ['a', 'b']],
    ['token ids', [1, 2]],
    ['token id lists', [[1], [2, 3]]],
  ])('accepts %s', (_, input) => {
    const body = { model: 'e', input, dimensions: 8, encoding_format: 'float' };
    expect(parseEmbeddingsRequest(body)).toBe(body);
  });

  it.each([
    ['an empty list', []],
    ['an empty token list', [[]]],
    ['mixed strings and numbers', ['a', 1]],
    ['a number', 5],
  ])('refuses %s', (_, input) => {
    expect(refusal(parseEmbeddingsRequest, { model: 'e', input })?.param).toMatch(/^input/);
  });

  it('refuses zero dimensions and an unknown encoding', () => {
    expect(refusal(parseEmbeddingsRequest, { model: 'e', input: 'a', dimensions: 0 })?.param).toBe('dimensions');
    expect(refusal(parseEmbeddingsRequest, { model: 'e', input: 'a', encoding_format: 'hex' })?.param).toBe('encoding_format');
  });
});

describe('ingress request checks', () => {
  const messages = (fields: Record<string, unknown>) => ({
    model: 'c',
    max_tokens: 10,
    messages: [{ role: 'user', content: 'hi' }],
    ...fields,
  });

  it('accept valid Messages and Completions requests as the very body', () => {
    const body = messages({
      system: [{ type: 'text', text: 's' }],
      tools: [{ name: 't' }],
      tool_choice: { type: 'tool', name: 't' },
      top_k: 0,
    });
    expect(parseMessagesRequest(body)).toBe(body);
    const { max_tokens: _, ...counting } = body;
    expect(parseCountTokensRequest(counting)).toBe(counting);
    const completion = { model: 'i', prompt: [[1, 2]], max_tokens: 0, echo: null };
    expect(parseCompletionsRequest(completion)).toBe(completion);
  });

  it.each([
    ['no max_tokens', { model: 'c', messages: [{ role: 'user', content: 'hi' }] }, 'max_tokens'],
    ['a system role message', messages({ messages: [{ role: 'system', content: 'x' }] }), 'messages[0].role'],
    ['temperature over 1', messages({ temperature: 1.5 }), 'temperature'],
    ['a negative top_k', messages({ top_k: -1 }), 'top_k'],
    ['an unknown tool_choice', messages({ tool_choice: { type: 'some' } }), 'tool_choice.type'],
  ])('refuse a Messages request with %s', (_, body, param) => {
    expect(refusal(parseMessagesRequest, body)?.param).toBe(param);
  });

  it('refuse a Completions request with no prompt or a negative max_tokens', () => {
    expect(refusal(parseCompletionsRequest, { model: 'i', prompt: [] })?.param).toMatch(/^prompt/);
    expect(refusal(parseCompletionsRequest, { model: 'i', prompt: 'a', max_tokens: -1 })?.param).toBe('max_tokens');
  });
});
