import { isDeepStrictEqual } from 'node:util';
import OpenAI, { APIError } from 'openai';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { RecordedBody } from './cases.ts';

/** What an answer adds up to, for comparing a stream with its non-streamed twin. */
export interface AnswerSummary {
  readonly text: string;
  readonly toolCalls: readonly { id: string; name: string; arguments: string }[];
  readonly finishReason: string;
  readonly usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
}

const FINISH_REASONS = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);
const MESSAGES = [{ role: 'user' as const, content: 'What is the weather in San Francisco?' }];

export class CheckFailure extends Error {}

function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

function checkToolCall(call: { id: string; name: string; arguments: string }, where: string): void {
  expect(call.id !== '', `${where}: tool call without id`);
  expect(call.name !== '', `${where}: tool call without name`);
  try {
    JSON.parse(call.arguments);
  } catch {
    throw new CheckFailure(`${where}: tool call arguments are not complete JSON: ${call.arguments.slice(0, 80)}`);
  }
}

function checkUsage(usage: AnswerSummary['usage'], where: string): void {
  expect(usage !== undefined, `${where}: no usage`);
  expect(
    usage.total_tokens === usage.prompt_tokens + usage.completion_tokens,
    `${where}: usage does not add up (${JSON.stringify(usage)})`,
  );
}

/** A non-streamed answer: a valid chat.completion. */
export async function checkCompletion(client: OpenAI, model: string): Promise<AnswerSummary> {
  const completion: ChatCompletion = await client.chat.completions.create({ model, messages: MESSAGES });
  expect(completion.object === 'chat.completion', `object is ${String(completion.object)}`);
  expect(typeof completion.id === 'string' && completion.id !== '', 'no id');
  const choice = completion.choices[0];
  expect(choice !== undefined, 'no choices');
  expect(choice.message.role === 'assistant', `role is ${choice.message.role}`);
  expect(FINISH_REASONS.has(choice.finish_reason), `finish_reason is ${String(choice.finish_reason)}`);
  const toolCalls = (choice.message.tool_calls ?? []).map((call) => {
    expect(call.type === 'function', `tool call type is ${call.type}`);
    return { id: call.id, name: call.function.name, arguments: call.function.arguments };
  });
  toolCalls.forEach((call) => checkToolCall(call, 'completion'));
  const summary = { text: choice.message.content ?? '', toolCalls, finishReason: choice.finish_reason, usage: completion.usage };
  checkUsage(summary.usage, 'completion');
  expect(summary.text !== '' || toolCalls.length > 0 || summary.finishReason === 'content_filter', 'empty answer');
  return summary;
}

/** A streamed answer: valid chunks the SDK's stream helper assembles, agreeing with our own reading of them. */
export async function checkStream(client: OpenAI, model: string): Promise<AnswerSummary> {
  const stream = await client.chat.completions.create({ model, messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const summary = summarizeChunks(chunks);
  const helper = await client.chat.completions
    .stream({ model, messages: MESSAGES, stream_options: { include_usage: true } })
    .finalChatCompletion();
  const assembled = helper.choices[0];
  expect(assembled !== undefined, 'the SDK stream helper assembled no choice');
  expect((assembled.message.content ?? '') === summary.text, 'the SDK stream helper assembled different text');
  const helperCalls = assembled.message.tool_calls ?? [];
  expect(helperCalls.length === summary.toolCalls.length, 'the SDK stream helper assembled different tool calls');
  return summary;
}

function summarizeChunks(chunks: readonly ChatCompletionChunk[]): AnswerSummary {
  expect(chunks.length > 0, 'empty stream');
  let text = '';
  let finishReason: string | undefined;
  let usage: AnswerSummary['usage'];
  let sawRole = false;
  const calls: { id: string; name: string; arguments: string }[] = [];
  for (const [position, chunk] of chunks.entries()) {
    expect(chunk.object === 'chat.completion.chunk', `chunk ${position}: object is ${String(chunk.object)}`);
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (choice === undefined) {
      expect(chunk.usage, `chunk ${position}: no choices and no usage`);
      continue;
    }
    if (!sawRole) {
      expect(choice.delta.role === 'assistant', `chunk ${position}: the first delta has no assistant role`);
      sawRole = true;
    }
    text += choice.delta.content ?? '';
    for (const delta of choice.delta.tool_calls ?? []) {
      expect(typeof delta.index === 'number', `chunk ${position}: tool-call delta without index`);
      const existing = calls[delta.index];
      if (existing === undefined) {
        expect(delta.id && delta.function?.name, `chunk ${position}: a new tool call without id or name`);
        calls[delta.index] = { id: delta.id, name: delta.function.name, arguments: delta.function.arguments ?? '' };
      } else existing.arguments += delta.function?.arguments ?? '';
    }
    if (choice.finish_reason) {
      expect(finishReason === undefined, `chunk ${position}: a second finish_reason`);
      finishReason = choice.finish_reason;
    }
  }
  expect(finishReason !== undefined && FINISH_REASONS.has(finishReason), `finish_reason is ${String(finishReason)}`);
  expect(
    calls.every((call) => call !== undefined),
    'tool-call indexes have gaps',
  );
  calls.forEach((call) => checkToolCall(call, 'stream'));
  checkUsage(usage, 'stream');
  return { text, toolCalls: calls, finishReason, usage };
}

/** The streamed and non-streamed recordings were sampled separately, so their words differ; the answer's shape must not. */
export function checkTwins(completion: AnswerSummary, stream: AnswerSummary): void {
  expect(completion.finishReason === stream.finishReason, `finish_reason ${completion.finishReason} vs streamed ${stream.finishReason}`);
  expect(
    completion.toolCalls.length === stream.toolCalls.length,
    `${completion.toolCalls.length} tool calls vs ${stream.toolCalls.length} streamed`,
  );
  expect((completion.text === '') === (stream.text === ''), 'one twin has text and the other none');
  expect((completion.usage === undefined) === (stream.usage === undefined), 'one twin has usage and the other none');
}

/** A recorded error: an OpenAI error with a fitting status, the provider's message kept, wait hints passed on. */
export async function checkError(client: OpenAI, model: string, recorded: Extract<RecordedBody, { kind: 'error' }>): Promise<void> {
  const expectedStatus = recorded.status === 529 ? 503 : recorded.status;
  try {
    await client.chat.completions.create({ model, messages: MESSAGES });
  } catch (error) {
    expect(error instanceof APIError, `not an API error: ${String(error)}`);
    expect(error.status === expectedStatus, `status ${String(error.status)}, expected ${expectedStatus}`);
    const body = error.error as { message?: unknown; type?: unknown } | undefined;
    const message = recordedMessage(recorded.body);
    expect(typeof body?.message === 'string' && body.message === message, `message ${JSON.stringify(body?.message)} is not the provider's`);
    expect(typeof body.type === 'string' && body.type !== '', 'no error type');
    if (JSON.stringify(recorded.body).includes('retryDelay')) {
      expect(error.headers?.get('retry-after'), 'the provider asked for a delay, but no retry-after reached the client');
    }
    return;
  }
  throw new CheckFailure('the recorded error was answered as a success');
}

function recordedMessage(body: unknown): string | undefined {
  const record = body as { error?: { message?: unknown }; message?: unknown };
  const message = record.error?.message ?? record.message;
  return typeof message === 'string' ? message : undefined;
}

export async function checkEmbeddings(client: OpenAI, model: string): Promise<void> {
  const list = await client.embeddings.create({
    model,
    input: ['sunny day at the beach', 'rainy day in the city'],
    encoding_format: 'float',
  });
  expect(list.object === 'list', `object is ${String(list.object)}`);
  expect(list.data.length > 0, 'no embeddings');
  const dimensions = list.data[0]?.embedding.length ?? 0;
  expect(dimensions > 0, 'empty embedding');
  list.data.forEach((item, index) => {
    expect(item.object === 'embedding' && item.index === index, `embedding ${index} is misnumbered`);
    expect(
      item.embedding.length === dimensions && item.embedding.every((value) => Number.isFinite(value)),
      `embedding ${index} is malformed`,
    );
  });
  expect(list.usage && typeof list.usage.prompt_tokens === 'number', 'no usage');
}

/** The gateway as the Responses check needs it: where it listens, and its access log. */
export interface RunningGateway {
  readonly url: string;
  output(): { stdout: string };
}

/**
 * The Responses API passthrough: the body arrives as recorded (an error with its status), each
 * streamed event's data byte for byte, and the gateway's access log has the usage that
 * `response.completed` reported.
 */
export async function checkResponsesRelay(
  gateway: RunningGateway,
  model: string,
  json: RecordedBody | undefined,
  chunks: readonly string[] | undefined,
): Promise<string[]> {
  const done: string[] = [];
  const post = (stream: boolean) =>
    fetch(`${gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer conformance' },
      body: JSON.stringify({ model, input: 'hello', stream }),
    });
  if (json !== undefined) {
    const response = await post(false);
    const body: unknown = await response.json();
    const status = json.kind === 'error' ? json.status : 200;
    expect(response.status === status, `status ${response.status}, expected ${status}`);
    expect(isDeepStrictEqual(body, json.body), 'the Responses body was not relayed unchanged');
    done.push(json.kind === 'error' ? `error ${status}` : 'body');
  }
  if (chunks !== undefined) {
    const response = await post(true);
    const data = (await response.text())
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice(6));
    expect(isDeepStrictEqual(data, chunks), 'the Responses stream was not relayed unchanged');
    done.push('stream');
    const usage = recordedUsage(chunks);
    if (usage !== undefined) {
      await checkLoggedUsage(gateway, response.headers.get('x-request-id') ?? '', usage);
      done.push('usage read');
    }
  }
  return done;
}

/** The usage `response.completed` reports, read from its text (some recorded lines are not whole JSON). */
function recordedUsage(chunks: readonly string[]): Record<string, number> | undefined {
  const completed = chunks.find((line) => line.startsWith('{"type":"response.completed"'));
  const match = completed === undefined ? null : /"usage":(\{"input_tokens".*?"total_tokens":\d+\})/.exec(completed);
  return match?.[1] === undefined ? undefined : (JSON.parse(match[1]) as Record<string, number>);
}

async function checkLoggedUsage(gateway: RunningGateway, requestId: string, usage: Record<string, number>): Promise<void> {
  let logged: { usage?: Record<string, number> } | undefined;
  for (let attempt = 0; attempt < 40 && logged === undefined; attempt++) {
    const line = gateway
      .output()
      .stdout.split('\n')
      .find((entry) => entry.includes(`"request_id":"${requestId}"`));
    if (line !== undefined) logged = JSON.parse(line) as { usage?: Record<string, number> };
    else await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(logged !== undefined, 'the gateway logged no line for the relayed stream');
  const expected = { prompt_tokens: usage['input_tokens'], completion_tokens: usage['output_tokens'], total_tokens: usage['total_tokens'] };
  expect(
    logged.usage?.prompt_tokens === expected.prompt_tokens &&
      logged.usage?.completion_tokens === expected.completion_tokens &&
      logged.usage?.total_tokens === expected.total_tokens,
    `the gateway read usage ${JSON.stringify(logged.usage)}, but response.completed reported ${JSON.stringify(expected)}`,
  );
}
