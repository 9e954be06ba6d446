import { createHash } from 'node:crypto';
import { GatewayError } from '../../server/errors.ts';
import { defaultMaxTokens, returnableThinkingBlocks, thinkingBudgetFor } from '../anthropic/thinking.ts';
import type { ThinkingBlock } from '../translate/openai-output.ts';
import type { ChatMessage, ChatRequest } from '../types.ts';
import {
  checkSupportedFields,
  compact,
  contentParts,
  maxTokensOf,
  numberField,
  parseArguments,
  responseFormatOf,
  stopSequencesOf,
  systemTextOf,
  textOf,
  toolCallsOf,
  toolChoiceOf,
  unsupported,
  isRecord,
  type ContentPart,
  AlternatingTurns,
} from '../translate/request-parts.ts';

const SUPPORTED: ReadonlySet<string> = new Set(['max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop']);
/**
 * An Anthropic model takes more in `additionalModelRequestFields`, which Converse hands to the
 * model as it is: `top_k`, and extended thinking, asked for as OpenAI's `reasoning_effort` (the
 * Anthropic provider's budgets) or as Anthropic's own `thinking` object (a Messages caller's, with
 * its exact budget), which wins.
 */
const ANTHROPIC_SUPPORTED: ReadonlySet<string> = new Set([...SUPPORTED, 'top_k', 'reasoning_effort', 'thinking']);
/** What an Anthropic model takes of a Messages caller's droppable fields: the request fields, and the assistant messages' `thinking_blocks`. */
const ANTHROPIC_ACCEPTED: ReadonlySet<string> = new Set([...ANTHROPIC_SUPPORTED, 'thinking_blocks']);
/** Anthropic models: `anthropic.claude-…`, cross-region inference profiles (`us.anthropic.claude-…`, `global.…`), and their ARNs. */
const ANTHROPIC_MODEL = /(?:^|[./])anthropic\./;
export const BEDROCK_JSON_TOOL = 'json';
const IMAGE_FORMATS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

type Block = Record<string, unknown>;
interface BedrockMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/** toolUseId must match ^[a-zA-Z0-9_-]+$ and fit 64 characters; other providers' ids are made to fit, stably. */
export function bedrockToolId(id: string): string {
  const safe = id.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (safe.length > 0 && safe.length <= 64) return safe;
  return `tooluse_${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}

/** The request fields a Bedrock model takes beyond those every provider reads: its family's (a model known by an opaque ARN gets the common ones). */
export function converseFields(model: string): ReadonlySet<string> {
  return ANTHROPIC_MODEL.test(model) ? ANTHROPIC_SUPPORTED : SUPPORTED;
}

/** Whether a request's `reasoning_effort` decides a Bedrock model's thinking: Claude's, when the caller sent no `thinking` object of its own. */
export function effortDecidesThinking(request: ChatRequest, model: string): boolean {
  return ANTHROPIC_MODEL.test(model) && (request['thinking'] === undefined || request['thinking'] === null);
}

/** The droppable fields (`AttemptOptions.droppable`) a Bedrock model takes: its request fields, and for Claude the thinking blocks of earlier turns. */
export function converseAcceptedFields(model: string): ReadonlySet<string> {
  return ANTHROPIC_MODEL.test(model) ? ANTHROPIC_ACCEPTED : SUPPORTED;
}

/**
 * Claude's `thinking`, as Anthropic's API takes it: the caller's own object as it is, or one made
 * from `reasoning_effort` with the Anthropic provider's budgets (none on a tool turn that came back
 * without its thinking blocks, which Claude would refuse; see `thinkingBudgetFor`). Temperature, top_p and top_k go
 * with it as they are, as the Anthropic provider sends them; Bedrock refuses what thinking cannot take.
 */
function thinkingOf(request: ChatRequest): Record<string, unknown> | undefined {
  const thinking = request['thinking'];
  if (thinking !== undefined && thinking !== null) {
    if (!isRecord(thinking))
      throw new GatewayError('invalid_request', "Invalid 'thinking': expected an object such as {type: 'enabled', budget_tokens: N}.", {
        param: 'thinking',
      });
    return thinking;
  }
  const budget = thinkingBudgetFor(request);
  return budget === undefined ? undefined : { type: 'enabled', budget_tokens: budget };
}

/** The Converse API body (the model id goes in the URL). */
export function toConverseRequest(request: ChatRequest, model: string): Record<string, unknown> {
  checkSupportedFields(request, 'bedrock', converseFields(model));
  const claude = ANTHROPIC_MODEL.test(model);
  const topK = numberField(request, 'top_k');
  const thinking = claude ? thinkingOf(request) : undefined;
  const budget = thinking?.['type'] === 'enabled' && typeof thinking['budget_tokens'] === 'number' ? thinking['budget_tokens'] : undefined;
  const format = responseFormatOf(request);
  if (format && (request.tools?.length ?? 0) > 0) throw unsupported('bedrock', 'response_format together with tools', 'response_format');
  const system = systemTextOf(request.messages);
  const inferenceConfig = compact({
    // With a thinking budget, an unset limit is the Anthropic provider's: room for the budget and an answer.
    maxTokens: maxTokensOf(request) ?? (budget === undefined ? undefined : defaultMaxTokens(budget)),
    temperature: numberField(request, 'temperature'),
    topP: numberField(request, 'top_p'),
    stopSequences: stopSequencesOf(request),
  });
  const modelFields = compact({ top_k: topK, thinking });
  const jsonSchema = format?.type === 'json_schema' ? format.schema : { type: 'object' };
  return compact({
    messages: toMessages(request.messages, claude),
    system: system === undefined ? undefined : [{ text: system }],
    inferenceConfig: Object.keys(inferenceConfig).length > 0 ? inferenceConfig : undefined,
    additionalModelRequestFields: Object.keys(modelFields).length > 0 ? modelFields : undefined,
    toolConfig: format
      ? {
          tools: [{ toolSpec: { name: BEDROCK_JSON_TOOL, description: 'Respond with a JSON object.', inputSchema: { json: jsonSchema } } }],
          toolChoice: { tool: { name: BEDROCK_JSON_TOOL } },
        }
      : toolConfigOf(request),
  });
}

function toolConfigOf(request: ChatRequest): Record<string, unknown> | undefined {
  if (!request.tools || request.tools.length === 0) return undefined;
  const choice = toolChoiceOf(request);
  // Converse has no "none": leaving the tools out is the equivalent.
  if (choice === 'none') return undefined;
  const tools = request.tools.map((tool, index) => {
    if (tool.type !== 'function' || !tool.function) throw unsupported('bedrock', `tools of type '${tool.type}'`, `tools[${index}].type`);
    return {
      toolSpec: compact({
        name: tool.function.name,
        description: tool.function.description,
        inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
      }),
    };
  });
  const toolChoice =
    choice === undefined || choice === 'auto' ? undefined : choice === 'required' ? { any: {} } : { tool: { name: choice.name } };
  return compact({ tools, toolChoice });
}

/** `claude`: the model takes Anthropic's reasoning blocks back (the other families' are not sent). */
function toMessages(messages: readonly ChatMessage[], claude: boolean): BedrockMessage[] {
  const turns = new AlternatingTurns<BedrockMessage['role'], Block>();
  for (const message of messages) {
    if (message.role === 'user') turns.add('user', contentParts(message.content).map(toBlock));
    else if (message.role === 'assistant') {
      // Signed reasoning from an earlier answer goes back first, as Claude requires after tool use with thinking on.
      const reasoning = claude ? returnableThinkingBlocks(message['thinking_blocks']).map(reasoningBlock) : [];
      const text = textOf(message.content);
      const calls = toolCallsOf(message).map((call) => ({
        toolUse: { toolUseId: bedrockToolId(call.id), name: call.name, input: parseArguments(call.arguments) },
      }));
      turns.add('assistant', [...reasoning, ...(text ? [{ text }] : []), ...calls]);
    } else if (message.role === 'tool' || message.role === 'function') {
      turns.add('user', [
        { toolResult: { toolUseId: bedrockToolId(message.tool_call_id ?? ''), content: [{ text: textOf(message.content) }] } },
      ]);
    }
  }
  return turns.turns.map(({ role, blocks }) => ({ role, content: blocks }));
}

/** A thinking block as Converse's reasoningContent: signed text, or the redacted bytes (base64, as Converse's JSON carries bytes). */
function reasoningBlock(block: ThinkingBlock): Block {
  return block.type === 'thinking'
    ? { reasoningContent: { reasoningText: { text: block.thinking, signature: block.signature } } }
    : { reasoningContent: { redactedContent: block.data } };
}

function toBlock(part: ContentPart): Block {
  if (part.type === 'text') return { text: part.text };
  const format = part.data ? IMAGE_FORMATS[part.data.mediaType] : undefined;
  if (!part.data || format === undefined) {
    throw unsupported('bedrock', 'images by URL (send them as base64 data URLs of PNG, JPEG, GIF or WebP)', 'messages');
  }
  return { image: { format, source: { bytes: part.data.base64 } } };
}
