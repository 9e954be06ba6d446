import { randomInt } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The shared half of every fake provider: an HTTP server that records requests, lets a
 * provider dialect validate them as the real API does, plans an answer, and sends it in the
 * dialect's own wire format (JSON, SSE or binary frames), or one of the failure scenarios.
 */
export interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: unknown;
}

export interface ToolOffer {
  readonly name: string;
  readonly schema: Record<string, unknown> | undefined;
}

/** What the fake understood of a valid request, in provider-neutral terms. */
export interface Turn {
  readonly model: string;
  readonly stream: boolean;
  readonly tools: readonly ToolOffer[];
  /** A tool the request forces (JSON mode through a tool, or tool_choice naming one). */
  readonly forcedTool?: string | undefined;
  /** Tool results in the request's last turn. */
  readonly toolResults: readonly string[];
  readonly userText: string;
  readonly images: readonly string[];
  readonly jsonMode: boolean;
  readonly jsonSchema?: Record<string, unknown> | undefined;
  /** Extended thinking asked for: the answer starts with a signed reasoning block. */
  readonly thinking?: boolean;
}

export interface PlannedCall {
  readonly id: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
}

export type Plan =
  { readonly kind: 'text'; readonly pieces: readonly string[] } | { readonly kind: 'tools'; readonly calls: readonly PlannedCall[] };

export type ErrorScenario = 'context' | 'rate_limit' | 'overloaded' | 'server';

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  /** The body exactly as it arrived. */
  readonly raw: string;
}

export interface Dialect {
  /** An error reply when the credentials are missing or wrong. */
  authenticate(call: RecordedCall): Reply | undefined | Promise<Reply | undefined>;
  /** Validates the request like the real API; `issued` holds the tool-call ids this fake handed out. */
  parse(call: RecordedCall, issued: ReadonlySet<string>): Reply | Turn;
  newToolId(name: string): string;
  reply(turn: Turn, plan: Plan): Reply;
  /** The answer as wire frames, in order; the harness may cut the stream half way. */
  stream(turn: Turn, plan: Plan): { readonly contentType: string; readonly frames: readonly (string | Uint8Array)[] };
  error(scenario: ErrorScenario): Reply;
  /** The API's own error event, which ends a stream the upstream fails part way (model `fake-stream-error`). */
  streamError?(): string | Uint8Array;
  /** Embeddings, for dialects with an embeddings API. */
  embed?(call: RecordedCall): Reply | undefined;
  /** Token counting, for dialects with a counting API. */
  countTokens?(call: RecordedCall, issued: ReadonlySet<string>): Reply | undefined;
}

export interface FakeProvider {
  readonly url: string;
  readonly requests: RecordedCall[];
  close(): Promise<void>;
}

const SCENARIOS: Record<string, ErrorScenario> = {
  'fake-context': 'context',
  'fake-429': 'rate_limit',
  'fake-overloaded': 'overloaded',
  'fake-500': 'server',
};

export function randomId(length: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'): string {
  let out = '';
  for (let index = 0; index < length; index++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Example arguments for a tool: one value per required property, strings as "Paris". */
export function exampleArguments(schema: Record<string, unknown> | undefined): Record<string, unknown> {
  const required = Array.isArray(schema?.['required']) ? (schema['required'] as unknown[]) : [];
  const properties = isObject(schema?.['properties']) ? schema['properties'] : {};
  const args: Record<string, unknown> = {};
  for (const name of required) {
    if (typeof name !== 'string') continue;
    const type = isObject(properties[name]) ? properties[name]['type'] : 'string';
    args[name] = type === 'number' || type === 'integer' ? 21 : type === 'boolean' ? true : 'Paris';
  }
  return required.length === 0 && schema === undefined ? { location: 'Paris' } : args;
}

function words(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [text];
}

export function planAnswer(turn: Turn, dialect: Dialect, issued: Set<string>): Plan {
  const call = (tool: ToolOffer): PlannedCall => {
    const id = dialect.newToolId(tool.name);
    issued.add(id);
    return { id, name: tool.name, args: exampleArguments(tool.schema) };
  };
  const forced = turn.tools.find((tool) => tool.name === turn.forcedTool);
  if (forced && turn.toolResults.length === 0) return { kind: 'tools', calls: [call(forced)] };
  if (turn.jsonMode) return { kind: 'text', pieces: words(JSON.stringify(exampleArguments(turn.jsonSchema ?? { required: [] }))) };
  if (turn.toolResults.length > 0) return { kind: 'text', pieces: words(`Tool results: ${turn.toolResults.join(' | ')}`) };
  if (turn.tools.length > 0) {
    const chosen = turn.model.includes('parallel') ? turn.tools.slice(0, 2) : turn.tools.slice(0, 1);
    return { kind: 'tools', calls: chosen.map(call) };
  }
  const seen = turn.images.length > 0 ? `I see ${turn.images.join(' and ')}. ` : '';
  return { kind: 'text', pieces: words(`${seen}You said: ${turn.userText}`) };
}

async function readCall(req: IncomingMessage): Promise<RecordedCall> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const raw = Buffer.concat(parts).toString('utf8');
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    // kept as text; the dialect refuses it
  }
  return { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, raw };
}

export async function startFakeProvider(dialect: Dialect, pathPrefix = ''): Promise<FakeProvider> {
  const requests: RecordedCall[] = [];
  const issued = new Set<string>();
  const server = createServer((req, res) => {
    const send = (reply: Reply): void => {
      const text = JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(text);
    };
    void readCall(req).then(async (call) => {
      requests.push(call);
      const refused = await dialect.authenticate(call);
      if (refused) return send(refused);
      const answered = dialect.embed?.(call) ?? dialect.countTokens?.(call, issued);
      if (answered) return send(answered);
      const turn = dialect.parse(call, issued);
      if ('status' in turn) return send(turn);
      const scenario = SCENARIOS[turn.model];
      if (scenario) return send(dialect.error(scenario));
      const plan = planAnswer(turn, dialect, issued);
      if (!turn.stream) return send(dialect.reply(turn, plan));
      const { contentType, frames } = dialect.stream(turn, plan);
      res.writeHead(200, { 'content-type': contentType });
      // fake-cut: half the frames, then the connection drops. fake-unfinished: every frame but the
      // last (Anthropic's message_stop), then a clean end, as if the answer were complete.
      // fake-stream-error: half the frames, then the API's own error event, and a clean end.
      // fake-cut-mid-event: half the frames and the first half of the next, then the connection drops.
      const midEvent = turn.model === 'fake-cut-mid-event';
      const cut = turn.model === 'fake-cut' || midEvent;
      const half = frames.slice(0, Math.max(2, Math.floor(frames.length / 2)));
      const next = frames[half.length];
      if (midEvent && next !== undefined) half.push(next.slice(0, Math.floor(next.length / 2)));
      const streamError = turn.model === 'fake-stream-error' ? dialect.streamError?.() : undefined;
      const sent = cut
        ? half
        : streamError !== undefined
          ? [...half, streamError]
          : turn.model === 'fake-unfinished'
            ? frames.slice(0, -1)
            : frames;
      for (const frame of sent) res.write(frame);
      if (cut) setTimeout(() => res.socket?.destroy(), 30);
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${pathPrefix}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Error reply for a top-level field the API does not know, in the caller-given shape. */
export function unknownFields(body: Record<string, unknown>, known: ReadonlySet<string>): string | undefined {
  return Object.keys(body).find((key) => !known.has(key));
}

/** Reads an OpenAI-style user content (string or text/image_url parts) as the fakes' APIs do; an error message when a part is unknown. */
export function readUserContent(content: unknown, into: { userText: string; images: string[] }): string | undefined {
  const parts = typeof content === 'string' ? [{ type: 'text', text: content }] : Array.isArray(content) ? content.filter(isObject) : [];
  for (const part of parts) {
    if (part['type'] === 'text') into.userText += String(part['text']);
    else if (part['type'] === 'image_url' && isObject(part['image_url'])) {
      const url = String(part['image_url']['url']);
      into.images.push(url.startsWith('data:') ? `a ${url.slice(5, url.indexOf(';'))} image` : `an image at ${url}`);
    } else return `unsupported content part type ${String(part['type'])}`;
  }
  return undefined;
}
