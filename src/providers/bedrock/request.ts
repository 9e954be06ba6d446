import { createHash } from 'node:crypto';
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
  type ContentPart,
  AlternatingTurns,
} from '../translate/request-parts.ts';

const SUPPORTED: ReadonlySet<string> = new Set(['max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop']);
/** An Anthropic model takes `top_k` too, in `additionalModelRequestFields`, which Converse hands to the model as it is. */
const ANTHROPIC_SUPPORTED: ReadonlySet<string> = new Set([...SUPPORTED, 'top_k']);
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

/** The Converse API body (the model id goes in the URL). */
export function toConverseRequest(request: ChatRequest, model: string): Record<string, unknown> {
  checkSupportedFields(request, 'bedrock', converseFields(model));
  const topK = numberField(request, 'top_k');
  const format = responseFormatOf(request);
  if (format && (request.tools?.length ?? 0) > 0) throw unsupported('bedrock', 'response_format together with tools', 'response_format');
  const system = systemTextOf(request.messages);
  const inferenceConfig = compact({
    maxTokens: maxTokensOf(request),
    temperature: numberField(request, 'temperature'),
    topP: numberField(request, 'top_p'),
    stopSequences: stopSequencesOf(request),
  });
  const jsonSchema = format?.type === 'json_schema' ? format.schema : { type: 'object' };
  return compact({
    messages: toMessages(request.messages),
    system: system === undefined ? undefined : [{ text: system }],
    inferenceConfig: Object.keys(inferenceConfig).length > 0 ? inferenceConfig : undefined,
    additionalModelRequestFields: topK === undefined ? undefined : { top_k: topK },
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

function toMessages(messages: readonly ChatMessage[]): BedrockMessage[] {
  const turns = new AlternatingTurns<BedrockMessage['role'], Block>();
  for (const message of messages) {
    if (message.role === 'user') turns.add('user', contentParts(message.content).map(toBlock));
    else if (message.role === 'assistant') {
      const text = textOf(message.content);
      const calls = toolCallsOf(message).map((call) => ({
        toolUse: { toolUseId: bedrockToolId(call.id), name: call.name, input: parseArguments(call.arguments) },
      }));
      turns.add('assistant', [...(text ? [{ text }] : []), ...calls]);
    } else if (message.role === 'tool' || message.role === 'function') {
      turns.add('user', [
        { toolResult: { toolUseId: bedrockToolId(message.tool_call_id ?? ''), content: [{ text: textOf(message.content) }] } },
      ]);
    }
  }
  return turns.turns.map(({ role, blocks }) => ({ role, content: blocks }));
}

function toBlock(part: ContentPart): Block {
  if (part.type === 'text') return { text: part.text };
  const format = part.data ? IMAGE_FORMATS[part.data.mediaType] : undefined;
  if (!part.data || format === undefined) {
    throw unsupported('bedrock', 'images by URL (send them as base64 data URLs of PNG, JPEG, GIF or WebP)', 'messages');
  }
  return { image: { format, source: { bytes: part.data.base64 } } };
}
