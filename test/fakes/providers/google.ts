import { isObject, randomId, unknownFields, type Dialect, type Plan, type RecordedCall, type Reply, type Turn } from './harness.ts';

export const GOOGLE_KEY = 'AIzaFakeValidKey000000000000000000000';
const FIELDS = new Set(['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings', 'cachedContent']);
const CONFIG_FIELDS = new Set([
  'temperature',
  'topP',
  'topK',
  'maxOutputTokens',
  'stopSequences',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'thinkingConfig',
  'candidateCount',
]);
const PATH = /^\/v1beta\/models\/([^:/]+):(generateContent|streamGenerateContent|batchEmbedContents)(\?alt=sse)?$/;

const status = (code: number, state: string, message: string, details?: unknown[]): Reply => ({
  status: code,
  body: { error: { code, message, status: state, ...(details ? { details } : {}) } },
});
const invalid = (message: string): Reply => status(400, 'INVALID_ARGUMENT', message);

interface Read {
  toolResults: string[];
  userText: string;
  images: string[];
}

function readContents(contents: unknown, issued: ReadonlySet<string>): Reply | Read {
  if (!Array.isArray(contents) || contents.length === 0) return invalid('* GenerateContentRequest.contents: contents is not specified');
  let called = new Set<string>();
  let last: Read = { toolResults: [], userText: '', images: [] };
  for (const [index, content] of contents.entries()) {
    if (!isObject(content) || (content['role'] !== 'user' && content['role'] !== 'model')) {
      return invalid(`Please use a valid role: user, model. (contents[${index}])`);
    }
    const parts = Array.isArray(content['parts']) ? content['parts'].filter(isObject) : [];
    if (parts.length === 0) return invalid(`* GenerateContentRequest.contents[${index}].parts: contents.parts must not be empty.`);
    last = { toolResults: [], userText: '', images: [] };
    const calls = new Set<string>();
    for (const part of parts) {
      if (typeof part['text'] === 'string') last.userText += part['text'];
      const inline = part['inlineData'];
      if (isObject(inline)) last.images.push(`a ${String(inline['mimeType'])} image`);
      const file = part['fileData'];
      if (isObject(file)) last.images.push(`an image at ${String(file['fileUri'])}`);
      const call = part['functionCall'];
      if (isObject(call)) {
        if (typeof part['thoughtSignature'] !== 'string' || !issued.has(part['thoughtSignature'])) {
          return invalid('Function call is missing a thought_signature in functionCall parts.');
        }
        calls.add(String(call['name']));
      }
      const response = part['functionResponse'];
      if (isObject(response)) {
        if (!called.has(String(response['name'])) || !isObject(response['response'])) {
          return invalid(`* GenerateContentRequest.contents[${index}]: function response does not match a function call`);
        }
        const result = response['response'];
        last.toolResults.push(
          typeof result['result'] === 'string' && Object.keys(result).length === 1 ? result['result'] : JSON.stringify(result),
        );
      }
    }
    called = calls;
  }
  return last;
}

function parse(call: RecordedCall, issued: ReadonlySet<string>): Reply | Turn {
  const match = PATH.exec(call.path);
  if (!match?.[1] || match[2] === 'batchEmbedContents') return status(404, 'NOT_FOUND', `Not found: ${call.path}`);
  if ((match[2] === 'streamGenerateContent') !== (match[3] !== undefined)) return invalid('streaming needs alt=sse here');
  const body = call.body;
  if (!isObject(body)) return invalid('Invalid JSON payload received.');
  const extra = unknownFields(body, FIELDS);
  if (extra) return invalid(`Invalid JSON payload received. Unknown name "${extra}": Cannot find field.`);
  const config = isObject(body['generationConfig']) ? body['generationConfig'] : {};
  const badConfig = unknownFields(config, CONFIG_FIELDS);
  if (badConfig) return invalid(`Invalid JSON payload received. Unknown name "${badConfig}" at 'generation_config': Cannot find field.`);
  const read = readContents(body['contents'], issued);
  if ('status' in read) return read;
  const declarations = Array.isArray(body['tools'])
    ? body['tools']
        .filter(isObject)
        .flatMap((tool) => (Array.isArray(tool['functionDeclarations']) ? tool['functionDeclarations'].filter(isObject) : []))
    : [];
  const callingConfig =
    isObject(body['toolConfig']) && isObject(body['toolConfig']['functionCallingConfig'])
      ? body['toolConfig']['functionCallingConfig']
      : {};
  const allowed = Array.isArray(callingConfig['allowedFunctionNames']) ? callingConfig['allowedFunctionNames'] : [];
  const schema = config['responseJsonSchema'];
  return {
    model: decodeURIComponent(match[1]),
    stream: match[2] === 'streamGenerateContent',
    tools: declarations.map((tool) => ({
      name: String(tool['name']),
      schema: (tool['parametersJsonSchema'] ?? tool['parameters']) as Record<string, unknown> | undefined,
    })),
    forcedTool: callingConfig['mode'] === 'ANY' && allowed.length === 1 ? String(allowed[0]) : undefined,
    jsonMode: config['responseMimeType'] === 'application/json',
    jsonSchema: isObject(schema) ? schema : undefined,
    ...read,
  };
}

function replyParts(plan: Plan, pieces?: readonly string[]): Record<string, unknown>[] {
  if (plan.kind === 'text') return [{ text: (pieces ?? plan.pieces).join('') }];
  // Gemini 3 signs each call; the signature must come back with the call on the next turn.
  return plan.calls.map((call) => ({ functionCall: { name: call.name, args: call.args }, thoughtSignature: call.id }));
}

const usage = { promptTokenCount: 11, candidatesTokenCount: 7, totalTokenCount: 30, thoughtsTokenCount: 12 };

function responseBody(turn: Turn, content: Record<string, unknown>[], finish: boolean): Record<string, unknown> {
  return {
    candidates: [{ content: { parts: content, role: 'model' }, ...(finish ? { finishReason: 'STOP' } : {}), index: 0 }],
    usageMetadata: usage,
    modelVersion: turn.model,
    responseId: 'fakeResponseId123',
  };
}

const sseFrame = (body: unknown): string => `data: ${JSON.stringify(body)}\r\n\r\n`;

export const googleDialect: Dialect = {
  authenticate(call) {
    if (call.headers['x-goog-api-key'] === GOOGLE_KEY) return undefined;
    return status(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
    ]);
  },
  parse,
  newToolId: () => `Eq${randomId(40)}+/=`,
  reply: (turn, plan) => ({ status: 200, body: responseBody(turn, replyParts(plan), true) }),
  stream(turn, plan) {
    const frames =
      plan.kind === 'text'
        ? plan.pieces.map((piece, index) => sseFrame(responseBody(turn, [{ text: piece }], index === plan.pieces.length - 1)))
        : [sseFrame(responseBody(turn, replyParts(plan), false)), sseFrame(responseBody(turn, [{ text: '' }], true))];
    return { contentType: 'text/event-stream', frames };
  },
  error(scenario) {
    switch (scenario) {
      case 'context':
        return invalid('The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).');
      case 'rate_limit':
        return status(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan.', [
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '34.4s' },
        ]);
      case 'overloaded':
        return status(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.');
      case 'server':
        return status(500, 'INTERNAL', 'An internal error has occurred.');
    }
  },
  embed(call) {
    const match = PATH.exec(call.path);
    if (match?.[2] !== 'batchEmbedContents') return undefined;
    const requests = isObject(call.body) && Array.isArray(call.body['requests']) ? call.body['requests'] : [];
    return { status: 200, body: { embeddings: requests.map((_request, index) => ({ values: [0.1 * (index + 1), 0.2, -0.3] })) } };
  },
};
