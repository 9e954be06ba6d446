import type { ChatMessage, ChatRequest } from '../types.ts';
import {
  checkSupportedFields,
  compact,
  contentParts,
  isRecord,
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

/** The request fields the provider takes beyond those every provider reads. */
export const GEMINI_FIELDS: ReadonlySet<string> = new Set([
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'reasoning_effort',
]);
const THINKING_BUDGETS: Record<string, number> = { minimal: 0, low: 1024, medium: 8192, high: 24_576 };

/**
 * Gemini's tool calls carry no id of their own, but Gemini 3 needs each call's thought
 * signature back on the next turn: the id we hand out carries it, so the caller's next turn
 * (which quotes the id) gives it back without the gateway keeping state.
 */
const SIGNATURE_MARK = '__sig_';

export function geminiToolCallId(index: number, responseId: string, signature: string | undefined): string {
  const base = `call_${responseId.slice(0, 12) || 'gemini'}_${index}`;
  return signature ? `${base}${SIGNATURE_MARK}${signature}` : base;
}

function signatureOf(id: string): string | undefined {
  const at = id.indexOf(SIGNATURE_MARK);
  return at === -1 ? undefined : id.slice(at + SIGNATURE_MARK.length);
}

type Part = Record<string, unknown>;
interface GeminiContent {
  role: 'user' | 'model';
  parts: Part[];
}

export function toGeminiRequest(request: ChatRequest): Record<string, unknown> {
  checkSupportedFields(request, 'google', GEMINI_FIELDS);
  const format = responseFormatOf(request);
  const system = systemTextOf(request.messages);
  const effort = request['reasoning_effort'];
  const budget = typeof effort === 'string' ? THINKING_BUDGETS[effort] : undefined;
  const generationConfig = compact({
    temperature: numberField(request, 'temperature'),
    topP: numberField(request, 'top_p'),
    topK: numberField(request, 'top_k'),
    maxOutputTokens: maxTokensOf(request),
    stopSequences: stopSequencesOf(request),
    seed: numberField(request, 'seed'),
    presencePenalty: numberField(request, 'presence_penalty'),
    frequencyPenalty: numberField(request, 'frequency_penalty'),
    responseMimeType: format ? 'application/json' : undefined,
    responseJsonSchema: format?.type === 'json_schema' ? format.schema : undefined,
    thinkingConfig: budget === undefined ? undefined : { thinkingBudget: budget, includeThoughts: true },
  });
  return compact({
    contents: toContents(request.messages),
    systemInstruction: system === undefined ? undefined : { parts: [{ text: system }] },
    generationConfig: Object.keys(generationConfig).length > 0 ? generationConfig : undefined,
    ...toolsOf(request),
  });
}

function toolsOf(request: ChatRequest): Record<string, unknown> {
  if (!request.tools || request.tools.length === 0) return {};
  const functionDeclarations = request.tools.map((tool, index) => {
    if (tool.type !== 'function' || !tool.function) throw unsupported('google', `tools of type '${tool.type}'`, `tools[${index}].type`);
    return compact({ name: tool.function.name, description: tool.function.description, parametersJsonSchema: tool.function.parameters });
  });
  const choice = toolChoiceOf(request);
  const functionCallingConfig =
    choice === undefined || choice === 'auto'
      ? undefined
      : choice === 'none'
        ? { mode: 'NONE' }
        : choice === 'required'
          ? { mode: 'ANY' }
          : { mode: 'ANY', allowedFunctionNames: [choice.name] };
  return compact({
    tools: [{ functionDeclarations }],
    toolConfig: functionCallingConfig ? { functionCallingConfig } : undefined,
  });
}

function toContents(messages: readonly ChatMessage[]): GeminiContent[] {
  const turns = new AlternatingTurns<GeminiContent['role'], Part>();
  const names = new Map<string, string>();
  for (const message of messages) {
    if (message.role === 'user') turns.add('user', contentParts(message.content).map(toPart));
    else if (message.role === 'assistant') {
      const text = textOf(message.content);
      const calls = toolCallsOf(message).map((call) => {
        names.set(call.id, call.name);
        const signature = signatureOf(call.id);
        return compact({ functionCall: { name: call.name, args: parseArguments(call.arguments) }, thoughtSignature: signature });
      });
      turns.add('model', [...(text ? [{ text }] : []), ...calls]);
    } else if (message.role === 'tool' || message.role === 'function') {
      const id = message.tool_call_id ?? '';
      const name = names.get(id) ?? (typeof message['name'] === 'string' ? message['name'] : id);
      turns.add('user', [{ functionResponse: { name, response: toolResponse(textOf(message.content)) } }]);
    }
  }
  return turns.turns.map(({ role, blocks }) => ({ role, parts: blocks }));
}

/** functionResponse.response must be an object: a JSON object result as it is, anything else wrapped. */
function toolResponse(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (isRecord(value)) return value;
    return { result: value };
  } catch {
    return { result: text };
  }
}

const EXTENSION_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
};

function toPart(part: ContentPart): Part {
  if (part.type === 'text') return { text: part.text };
  if (part.data) return { inlineData: { mimeType: part.data.mediaType, data: part.data.base64 } };
  const extension = /\.(\w+)(?:\?|$)/.exec(part.url)?.[1]?.toLowerCase() ?? '';
  return { fileData: { mimeType: EXTENSION_TYPES[extension] ?? 'image/jpeg', fileUri: part.url } };
}
