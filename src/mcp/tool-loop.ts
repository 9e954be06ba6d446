import type { ToolLoopConfig } from '../config/mcp-schema.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type {
  AttemptOptions,
  AttemptOutcome,
  ChatMessage,
  ChatRequest,
  ChatTool,
  Provider,
  ResponseSink,
  TokenUsage,
} from '../providers/types.ts';
import { ClientStream } from './client-stream.ts';
import type { McpConnection } from './connection.ts';
import { endStreamAnswer, openAIToolCall, sendJsonAnswer } from './final-answer.ts';
import { schemaProfileFor, type SchemaProfile } from './schema-clean.ts';
import { runToolCall, type ToolCall, type ToolRun } from './tool-exec.ts';
import type { McpTool } from './toolset.ts';
import { JsonTurn, StreamTurn, type TurnResult } from './turn.ts';
import { performance } from 'node:perf_hooks';

/** An injected MCP tool a model may call, by exposed name. */
export interface CallableTool {
  readonly tool: McpTool;
  readonly connection: McpConnection;
  readonly autoRun: boolean;
}

export interface PlanInput {
  readonly context: RequestContext;
  /** The request with context messages injected, MCP entries removed, the client's own tools kept. */
  readonly request: ChatRequest;
  /** The MCP tools offered, per provider kind (schemas cleaned for it). */
  readonly offered: (profile: SchemaProfile) => readonly ChatTool[];
  readonly callable: ReadonlyMap<string, CallableTool>;
  readonly config: ToolLoopConfig;
}

/**
 * What the MCP stage made of one chat request. `chat` runs a provider attempt with the
 * enriched request and, when the model calls tools the gateway may run, the tool loop
 * around it: tools run in parallel, results are appended in order, the model is called
 * again, until it answers or `max_iterations` rounds have run (then it must answer:
 * `tool_choice: "none"`). The loop's state lives here, not in the attempt, so an outer
 * retry continues the conversation instead of running tools twice.
 */
export class McpPlan {
  readonly #input: PlanInput;
  readonly #loops: boolean;
  readonly #messages: ChatMessage[];
  #iterations = 0;
  #toolCalls = 0;
  #usage: TokenUsage | undefined;
  #client: ClientStream | undefined;
  #toolDeadline: AbortSignal | undefined;

  constructor(input: PlanInput) {
    this.#input = input;
    this.#loops = [...input.callable.values()].some((callable) => callable.autoRun);
    this.#messages = [...input.request.messages];
  }

  /** The enriched request (context and tools injected). */
  get request(): ChatRequest {
    return this.#input.request;
  }

  /** Whether the gateway runs tools itself, so the answer depends on live tool results. */
  get runsTools(): boolean {
    return this.#loops;
  }

  async chat(provider: Provider, options: AttemptOptions): Promise<AttemptOutcome> {
    const profile = schemaProfileFor(provider.type);
    if (!this.#loops) return provider.chat(this.#turnRequest(profile, false), options);
    const stream = this.#input.request.stream === true;
    if (stream && this.#client?.started !== true) this.#client = new ClientStream(options.sink);
    // The total timeout spans every attempt; the attempt's own signal ends only this attempt's tool calls.
    this.#toolDeadline ??= AbortSignal.timeout(this.#input.config.total_timeout_ms);
    const toolSignal = AbortSignal.any([options.signal, this.#toolDeadline]);
    for (;;) {
      const forceAnswer = this.#iterations >= this.#input.config.max_iterations;
      const turn = this.#client !== undefined ? new StreamTurn(this.#client) : new JsonTurn();
      const outcome = await provider.chat(this.#turnRequest(profile, forceAnswer), { ...options, sink: turn.sink });
      if (outcome.kind !== 'ok') return this.#failed(outcome);
      if (turn instanceof StreamTurn && turn.error !== undefined) return { kind: 'broken', message: turn.error };
      this.#usage = addUsage(this.#usage, outcome.usage);
      const result = turn.result();
      const auto = result.toolCalls.filter((call) => this.#input.callable.get(call.name)?.autoRun === true);
      if (forceAnswer || auto.length === 0 || auto.length < result.toolCalls.length) {
        this.#answer(turn, result, auto, options.sink);
        return this.#usage === undefined ? { kind: 'ok' } : { kind: 'ok', usage: this.#usage };
      }
      await this.#runTools(result, options.requestId, toolSignal);
    }
  }

  /** The request for one turn: the conversation so far, the client's tools then the MCP tools. */
  #turnRequest(profile: SchemaProfile, forceAnswer: boolean): ChatRequest {
    const base = this.#input.request;
    const tools = [...(base.tools ?? []), ...this.#input.offered(profile)];
    const request: ChatRequest = { ...base, messages: [...this.#messages] };
    if (tools.length > 0) request.tools = tools;
    if (forceAnswer) request.tool_choice = 'none';
    // A forced tool choice applies to the first turn; after tool results the model may answer.
    else if (this.#iterations > 0 && base.tool_choice !== undefined && base.tool_choice !== 'none') request.tool_choice = 'auto';
    if (this.#loops && base.stream === true) request.stream_options = { ...base.stream_options, include_usage: true };
    return request;
  }

  async #runTools(result: TurnResult, requestId: string, signal: AbortSignal): Promise<void> {
    const calls = result.toolCalls;
    this.#messages.push({
      role: 'assistant',
      content: result.content === '' ? null : result.content,
      tool_calls: calls.map(openAIToolCall),
      ...(result.thinkingBlocks.length > 0 ? { thinking_blocks: result.thinkingBlocks } : {}),
    });
    const runs = await Promise.all(
      calls.map(async (call): Promise<ToolRun> => {
        const callable = this.#input.callable.get(call.name);
        if (callable === undefined) throw new Error(`no callable tool ${call.name}`);
        this.#client?.comment(
          `lightport-mcp tool_call ${JSON.stringify({ id: call.id, server: callable.tool.server, tool: callable.tool.name })}`,
        );
        const startedAt = performance.now();
        const run = await runToolCall(call, callable.tool, callable.connection, {
          requestId,
          signal,
          maxOutputBytes: this.#input.config.max_output_bytes,
        });
        const durationMs = Math.round(performance.now() - startedAt);
        this.#client?.comment(
          `lightport-mcp tool_result ${JSON.stringify({ id: call.id, outcome: run.outcome, duration_ms: durationMs })}`,
        );
        return run;
      }),
    );
    this.#messages.push(...runs.map((run) => run.message));
    this.#iterations++;
    this.#toolCalls += calls.length;
    this.#summarize();
  }

  #answer(turn: JsonTurn | StreamTurn, result: TurnResult, dropped: readonly ToolCall[], sink: ResponseSink): void {
    const final = {
      usage: this.#usage,
      returned: result.toolCalls.filter((call) => !dropped.includes(call)),
      rewrite: this.#iterations > 0 || dropped.length > 0,
    };
    this.#summarize();
    if (turn instanceof StreamTurn && this.#client !== undefined) {
      endStreamAnswer(this.#client, turn, result, final, this.#input.request.stream_options?.include_usage === true);
    } else if (turn instanceof JsonTurn) {
      sendJsonAnswer(sink, turn, result, final);
    }
  }

  /** A failed turn: before the client saw a byte it is the attempt's outcome; after, the stream is broken. */
  #failed(outcome: Exclude<AttemptOutcome, { kind: 'ok' }>): AttemptOutcome {
    if (this.#client?.started !== true || outcome.kind === 'cancelled' || outcome.kind === 'broken') return outcome;
    return { kind: 'broken', message: 'The upstream failed during the tool loop.' };
  }

  #summarize(): void {
    const { context } = this.#input;
    context.mcp = { ...context.mcp, iterations: this.#iterations, toolCalls: this.#toolCalls };
    context.headers['x-lightport-mcp-iterations'] = String(this.#iterations);
    context.headers['x-lightport-mcp-tool-calls'] = String(this.#toolCalls);
  }
}

function addUsage(total: TokenUsage | undefined, turn: TokenUsage | undefined): TokenUsage | undefined {
  if (turn === undefined) return total;
  if (total === undefined) return turn;
  const cached = (total.cached_tokens ?? 0) + (turn.cached_tokens ?? 0);
  const reasoning = (total.reasoning_tokens ?? 0) + (turn.reasoning_tokens ?? 0);
  return {
    prompt_tokens: total.prompt_tokens + turn.prompt_tokens,
    completion_tokens: total.completion_tokens + turn.completion_tokens,
    total_tokens: total.total_tokens + turn.total_tokens,
    ...(total.cached_tokens === undefined && turn.cached_tokens === undefined ? {} : { cached_tokens: cached }),
    ...(total.reasoning_tokens === undefined && turn.reasoning_tokens === undefined ? {} : { reasoning_tokens: reasoning }),
  };
}
