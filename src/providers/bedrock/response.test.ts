import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Buffer } from 'node:buffer';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { describe, expect, it } from 'vitest';
import { fromAnthropicMessage } from '../anthropic/response.ts';
import { completionJson } from '../translate/openai-output.ts';
import { fromConverseResponse } from './response.ts';
import { ConverseStream, eventStreamTranslator } from './stream.ts';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/fixtures/providers');
/** A recorded Converse answer, its content replaced by `content`. */
function recorded(content: unknown[]): Record<string, unknown> {
  const body = JSON.parse(readFileSync(path.join(fixtures, 'bedrock/amazon-bedrock-text.json'), 'utf8')) as Record<string, unknown>;
  return { ...body, output: { message: { role: 'assistant', content } } };
}

const THOUGHT = 'Paris weather needs the tool.';
const SIGNATURE = 'EqQBCkgIARABGAIiQL2';
const REDACTED = 'ZW5jcnlwdGVkIHJlYXNvbmluZw==';

describe('Claude’s reasoning in a Converse answer', () => {
  it('comes back as reasoning_content and signed thinking_blocks, exactly as the Anthropic provider gives them', () => {
    const bedrock = fromConverseResponse(
      recorded([
        { reasoningContent: { reasoningText: { text: THOUGHT, signature: SIGNATURE } } },
        { reasoningContent: { redactedContent: REDACTED } },
        { text: 'Sunny.' },
      ]),
      'm',
      false,
    );
    const anthropic = fromAnthropicMessage(
      {
        content: [
          { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE },
          { type: 'redacted_thinking', data: REDACTED },
          { type: 'text', text: 'Sunny.' },
        ],
        stop_reason: 'end_turn',
      },
      false,
    );
    expect(bedrock).toMatchObject({ text: 'Sunny.', reasoning: THOUGHT, finishReason: 'stop' });
    expect(bedrock.thinkingBlocks).toEqual(anthropic.thinkingBlocks);
    expect(JSON.parse(completionJson(bedrock))).toMatchObject({
      choices: [
        {
          message: {
            content: 'Sunny.',
            reasoning_content: THOUGHT,
            thinking_blocks: [
              { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE },
              { type: 'redacted_thinking', data: REDACTED },
            ],
          },
        },
      ],
    });
  });

  it('has no thinking_blocks when there is nothing to send back: no reasoning, or reasoning without a signature', () => {
    expect(fromConverseResponse(recorded([{ text: 'Hi.' }]), 'm', false)).not.toHaveProperty('thinkingBlocks');
    const unsigned = fromConverseResponse(
      recorded([{ reasoningContent: { reasoningText: { text: THOUGHT } } }, { text: 'Hi.' }]),
      'm',
      false,
    );
    expect(unsigned).toMatchObject({ reasoning: THOUGHT, text: 'Hi.' });
    expect(unsigned).not.toHaveProperty('thinkingBlocks');
  });
});

describe('Claude’s reasoning in a ConverseStream answer', () => {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const frame = (type: string, body: unknown): Uint8Array =>
    codec.encode({
      headers: { ':event-type': { type: 'string', value: type }, ':message-type': { type: 'string', value: 'event' } },
      body: fromUtf8(JSON.stringify(body)),
    });
  const reasoning = (contentBlockIndex: number, delta: Record<string, unknown>): Uint8Array =>
    frame('contentBlockDelta', { contentBlockIndex, delta: { reasoningContent: delta } });
  const frames = Buffer.concat([
    frame('messageStart', { role: 'assistant' }),
    reasoning(0, { text: 'Paris weather ' }),
    reasoning(0, { text: 'needs the tool.' }),
    reasoning(0, { signature: SIGNATURE }),
    frame('contentBlockStop', { contentBlockIndex: 0 }),
    reasoning(1, { redactedContent: REDACTED }),
    frame('contentBlockStop', { contentBlockIndex: 1 }),
    frame('contentBlockStart', { contentBlockIndex: 2, start: { toolUse: { toolUseId: 'tooluse_1', name: 'weather' } } }),
    frame('contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '{"city":"Paris"}' } } }),
    frame('contentBlockStop', { contentBlockIndex: 2 }),
    frame('messageStop', { stopReason: 'tool_use' }),
    frame('metadata', { usage: { inputTokens: 10, outputTokens: 20, totalTokens: 30 }, metrics: { latencyMs: 5 } }),
  ]);

  /** The deltas of the OpenAI stream the frames become, fed `size` bytes at a time. */
  function deltas(size: number): Record<string, unknown>[] {
    const translator = eventStreamTranslator(new ConverseStream('m', false, false));
    let out = '';
    for (let offset = 0; offset < frames.length; offset += size) out += translator.push(frames.subarray(offset, offset + size));
    out += translator.end();
    expect(translator.failure).toBeUndefined();
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
    return out
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map((event) => (JSON.parse(event.slice(6)) as { choices: { delta: Record<string, unknown> }[] }).choices[0]?.delta ?? {});
  }

  it('streams the text as reasoning_content, then each block whole once it ends: signed, or redacted', () => {
    const out = deltas(frames.length);
    expect(out.map((delta) => delta['reasoning_content'] ?? '').join('')).toBe(THOUGHT);
    expect(out.flatMap((delta) => (delta['thinking_blocks'] as unknown[] | undefined) ?? [])).toEqual([
      { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE },
      { type: 'redacted_thinking', data: REDACTED },
    ]);
    // The signed block goes out after its last text and before the tool call.
    const order = out.flatMap((delta) =>
      delta['reasoning_content'] ? ['reasoning'] : delta['thinking_blocks'] ? ['block'] : delta['tool_calls'] ? ['tool'] : [],
    );
    expect(order).toEqual(['reasoning', 'reasoning', 'block', 'block', 'tool', 'tool']);
    expect(deltas(5)).toEqual(out);
  });
});
