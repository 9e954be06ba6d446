import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseChatRequest } from './openai-chat-request.ts';
import { buildChunks, buildCompletion, planAnswer, type StreamedChunk } from './openai-chat-response.ts';
import { buildEmbeddingList, parseEmbeddingRequest } from './openai-embeddings.ts';
import {
  incorrectApiKey,
  invalidJsonBody,
  invalidUrl,
  missingApiKey,
  modelNotFound,
  rateLimited,
  serverError,
  type OpenAIError,
} from './openai-errors.ts';
import { loadOpenAIFixtures, type OpenAIFixtures } from './openai-fixtures.ts';
import { openAIHeaders, sendError, sendJson } from './openai-http.ts';
import { createCompletion } from './openai-completions.ts';
import { createResponse, storedResponseRoute, type ResponsesStore } from './openai-responses.ts';
import { applyFault, halfOf, STREAM_ERROR, streamCut, type StreamCut, type UpstreamFault } from './upstream-faults.ts';

export interface RecordedRequest {
  method: string;
  /** Path and query as received, e.g. `/v1/chat/completions`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
}

export interface OpenAIUpstream {
  /** Base URL including `/v1`, as OPENAI_BASE_URL expects it. */
  url: string;
  requests: RecordedRequest[];
  /** Chat completion requests received so far. */
  chatRequests(): number;
  /** Makes chat and Responses requests fail this way (the next `times` of them, or all); undefined heals. */
  setFault(fault: UpstreamFault | undefined, times?: number): void;
  /** Stops listening, so new connections are refused. */
  refuse(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenAIUpstreamOptions {
  port?: number;
}

/** Models that make the fake misbehave, for error-path tests. */
export const FAKE_MODELS = {
  rateLimited: 'fake-429',
  serverError: 'fake-500',
  slowStream: 'fake-slow-stream',
  connectionReset: 'fake-reset',
} as const;

const SLOW_STREAM_INTERVAL_MS = 200;
const SLOW_COMPLETION_DELAY_MS = 1000;

const listedModels = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-nano', 'text-embedding-3-small'];

interface UpstreamContext {
  fixtures: OpenAIFixtures;
  requests: RecordedRequest[];
  /** Aborted on close, so slow streams stop waiting. */
  closing: AbortSignal;
  /** Responses the fake Responses API keeps (store: true). */
  responses: ResponsesStore;
  fault: { fault: UpstreamFault; remaining: number } | undefined;
}

type JsonRouteHandler = (body: unknown, req: IncomingMessage, res: ServerResponse, ctx: UpstreamContext) => void | Promise<void>;

type ParsedBody = { ok: true; value: unknown } | { ok: false; raw: string };

async function readBody(req: IncomingMessage): Promise<ParsedBody> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const raw = Buffer.concat(parts).toString('utf8');
  if (raw === '') return { ok: false, raw };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false, raw };
  }
}

function authError(headers: IncomingHttpHeaders): OpenAIError | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  const key = match?.[1];
  if (key === undefined) return missingApiKey;
  if (key.startsWith('sk-invalid')) return incorrectApiKey(key);
  return undefined;
}

/** Answers for the fake-* models; true when the request has been dealt with. */
function handledScenario(model: string, req: IncomingMessage, res: ServerResponse): boolean {
  switch (model) {
    case FAKE_MODELS.rateLimited:
      sendError(res, rateLimited(model));
      return true;
    case FAKE_MODELS.serverError:
      sendError(res, serverError);
      return true;
    case FAKE_MODELS.connectionReset:
      req.socket.resetAndDestroy();
      return true;
    default:
      return false;
  }
}

async function writeStream(
  res: ServerResponse,
  chunks: StreamedChunk[],
  delayMs: number,
  closing: AbortSignal,
  cut?: StreamCut,
  newline = '\n',
): Promise<void> {
  const end = newline + newline;
  res.writeHead(200, { ...openAIHeaders('text/event-stream; charset=utf-8'), 'cache-control': 'no-cache' });
  for (const [index, { chunk, carriesContent }] of chunks.entries()) {
    if (index === cut?.after) {
      if (cut.partial === true) res.write(halfOf(`data: ${JSON.stringify(chunk)}${end}`));
      if (cut.ending === 'close') setTimeout(() => res.socket?.destroy(), 20);
      else if (cut.ending === 'end') res.end();
      else if (cut.ending === 'error') res.end(`data: ${JSON.stringify({ error: STREAM_ERROR })}${end}`);
      return;
    }
    if (cut?.omitFinish === true && isFinishChunk(chunk)) continue;
    if (delayMs > 0 && carriesContent) await sleep(delayMs, undefined, { signal: closing });
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(chunk)}${end}`);
  }
  res.end(cut?.ending === 'end' && cut.omitFinish !== true ? undefined : `data: [DONE]${end}`);
}

function isFinishChunk(chunk: StreamedChunk['chunk']): boolean {
  const choices = chunk['choices'];
  return Array.isArray(choices) && choices.some((choice) => (choice as { finish_reason?: unknown }).finish_reason !== null);
}

const handleChat: JsonRouteHandler = async (body, req, res, ctx) => {
  const parsed = parseChatRequest(body);
  if (!parsed.ok) return sendError(res, parsed.error);
  const request = parsed.value;
  if (handledScenario(request.model, req, res)) return;
  const fault = takeFault(ctx);
  if (fault !== undefined && applyFault(fault, req, res, request.stream === true)) return;
  if (fault?.kind === 'delay') await sleep(fault.ms, undefined, { signal: ctx.closing });
  const cut = streamCut(fault);

  const slow = request.model === FAKE_MODELS.slowStream;
  const answer = planAnswer(request);
  if (request.stream) {
    const chunks = buildChunks(ctx.fixtures, request, answer);
    const crlf = fault?.kind === 'crlf_events' ? fault : undefined;
    const interval = slow ? SLOW_STREAM_INTERVAL_MS : (crlf?.intervalMs ?? 0);
    return writeStream(res, chunks, interval, ctx.closing, cut, crlf === undefined ? '\n' : '\r\n');
  }
  if (slow) await sleep(SLOW_COMPLETION_DELAY_MS, undefined, { signal: ctx.closing });
  sendJson(res, 200, buildCompletion(ctx.fixtures, request, answer));
};

function takeFault(ctx: UpstreamContext): UpstreamFault | undefined {
  const current = ctx.fault;
  if (current === undefined) return undefined;
  if (--current.remaining <= 0) ctx.fault = undefined;
  return current.fault;
}

const handleEmbeddings: JsonRouteHandler = (body, req, res, ctx) => {
  const parsed = parseEmbeddingRequest(body);
  if (!parsed.ok) return sendError(res, parsed.error);
  if (handledScenario(parsed.value.model, req, res)) return;
  sendJson(res, 200, buildEmbeddingList(ctx.fixtures, parsed.value));
};

function modelObject(id: string) {
  return { id, object: 'model', created: 1721172741, owned_by: 'system' };
}

async function handle(req: IncomingMessage, res: ServerResponse, ctx: UpstreamContext): Promise<void> {
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  const body = await readBody(req);
  ctx.requests.push({ method, path, headers: req.headers, body: body.ok ? body.value : body.raw || undefined });

  const unauthorized = authError(req.headers);
  if (unauthorized) return sendError(res, unauthorized);

  const pathname = new URL(path, 'http://fake').pathname;
  const postJson = (handler: JsonRouteHandler) => (body.ok ? handler(body.value, req, res, ctx) : sendError(res, invalidJsonBody));

  if (method === 'POST' && pathname === '/v1/chat/completions') return postJson(handleChat);
  if (method === 'POST' && pathname === '/v1/embeddings') return postJson(handleEmbeddings);
  if (method === 'POST' && pathname === '/v1/responses') {
    return postJson((json, request, response) => {
      if (handledScenario(String((json as { model?: unknown }).model), request, response)) return;
      const fault = takeFault(ctx);
      if (fault !== undefined && applyFault(fault, request, response, (json as { stream?: unknown }).stream === true)) return;
      createResponse(json, response, ctx.responses, streamCut(fault));
    });
  }
  if (method === 'POST' && pathname === '/v1/completions') return postJson((json, _request, response) => createCompletion(json, response));
  const query = new URL(path, 'http://fake').searchParams;
  // A stored response streamed again is cut as a created one is.
  const cut = method === 'GET' && query.get('stream') === 'true' ? streamCut(takeFault(ctx)) : undefined;
  if (storedResponseRoute({ method, pathname, query, cut }, res, ctx.responses)) return;
  if (method === 'GET' && pathname === '/v1/models') {
    return sendJson(res, 200, { object: 'list', data: listedModels.map(modelObject) });
  }
  const modelId = /^\/v1\/models\/(.+)$/.exec(pathname)?.[1];
  if (method === 'GET' && modelId !== undefined) {
    const id = decodeURIComponent(modelId);
    return listedModels.includes(id) ? sendJson(res, 200, modelObject(id)) : sendError(res, modelNotFound(id));
  }
  sendError(res, invalidUrl(method, pathname));
}

export async function startOpenAIUpstream(options: OpenAIUpstreamOptions = {}): Promise<OpenAIUpstream> {
  const closing = new AbortController();
  const ctx: UpstreamContext = {
    fixtures: await loadOpenAIFixtures(),
    requests: [],
    closing: closing.signal,
    fault: undefined,
    responses: new Map(),
  };

  const server = createServer((req, res) => {
    handle(req, res, ctx).catch(() => {
      if (!res.headersSent && !closing.signal.aborted) sendError(res, serverError);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const stopListening = (): Promise<void> =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests: ctx.requests,
    chatRequests: () => ctx.requests.filter((request) => request.path.endsWith('/chat/completions')).length,
    setFault: (fault, times = Number.POSITIVE_INFINITY) => {
      ctx.fault = fault === undefined ? undefined : { fault, remaining: times };
    },
    refuse: stopListening,
    resume: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve())),
    close: () => {
      closing.abort();
      return server.listening ? stopListening() : Promise.resolve();
    },
  };
}
