import { describe, expect, it } from 'vitest';
import { azureNative } from './azure/azure-openai.ts';
import { relayUsageReader } from './relay-usage.ts';

const read = (request: Parameters<typeof relayUsageReader>[0], tail: string, head = ''): unknown =>
  relayUsageReader(request).readUsage?.([Buffer.from(tail)], head === '' ? [] : [Buffer.from(head)]);

describe('usage of relayed answers', () => {
  it('reads a Responses answer’s usage (and response.completed’s) in chat terms', () => {
    const usage =
      '"usage":{"input_tokens":34,"input_tokens_details":{"cached_tokens":2},"output_tokens":28,"output_tokens_details":{"reasoning_tokens":5},"total_tokens":62},"user":null}';
    expect(
      read({ api: 'openai-responses', method: 'POST', path: '/responses', stream: true }, `data: {"response":{${usage}}}\n\n`),
    ).toEqual({
      prompt_tokens: 34,
      completion_tokens: 28,
      total_tokens: 62,
      cached_tokens: 2,
      reasoning_tokens: 5,
    });
  });

  it('takes an Anthropic stream’s input from message_start and its output from the last message_delta', () => {
    const head =
      'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":21,"cache_read_input_tokens":4,"output_tokens":1}}}\n\n';
    const tail = 'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":9}}\n\nevent: message_stop\ndata: {}\n\n';
    const request = { api: 'anthropic-messages' as const, method: 'POST' as const, path: '/messages', stream: true };
    expect(read(request, tail, head)).toEqual({ prompt_tokens: 25, completion_tokens: 9, total_tokens: 34, cached_tokens: 4 });
  });

  it('keeps an Anthropic stream’s cache writes, which are priced apart from plain input', () => {
    const head =
      'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":10,"cache_creation_input_tokens":200,"cache_read_input_tokens":1000,"output_tokens":1}}}\n\n';
    const tail = 'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":30}}\n\nevent: message_stop\ndata: {}\n\n';
    const request = { api: 'anthropic-messages' as const, method: 'POST' as const, path: '/messages', stream: true };
    expect(read(request, tail, head)).toMatchObject({ cached_tokens: 1000, cache_write_tokens: 200, completion_tokens: 30 });
  });

  it('reads nothing for GET and DELETE', () => {
    expect(relayUsageReader({ api: 'openai-responses', method: 'GET', path: '/responses/resp_1', stream: false })).toEqual({});
  });
});

describe('Azure’s native APIs', () => {
  it('serves Responses on its v1 API and completions per deployment', () => {
    const native = azureNative('2024-10-21');
    expect(
      native.path({ api: 'openai-responses', method: 'GET', path: '/responses/resp_1/input_items?limit=2', stream: false }, 'dep'),
    ).toBe('/openai/v1/responses/resp_1/input_items?limit=2');
    expect(native.path({ api: 'openai-completions', method: 'POST', path: '/completions', stream: false }, 'my dep')).toBe(
      '/openai/deployments/my%20dep/completions?api-version=2024-10-21',
    );
  });
});
