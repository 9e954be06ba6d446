import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** How a provider frames its streams on the wire. */
export type Framing = 'sse-data' | 'sse-event' | 'sse-crlf' | 'aws-event-stream';

/** Each recorded provider folder: the gateway provider type that serves it and how its streams are framed. */
export const PROVIDER_DIRS: Readonly<
  Record<string, { readonly type: string; readonly framing: Framing; readonly route: 'chat' | 'responses' }>
> = {
  openai: { type: 'openai', framing: 'sse-data', route: 'chat' },
  groq: { type: 'groq', framing: 'sse-data', route: 'chat' },
  mistral: { type: 'mistral', framing: 'sse-data', route: 'chat' },
  deepseek: { type: 'deepseek', framing: 'sse-data', route: 'chat' },
  anthropic: { type: 'anthropic', framing: 'sse-event', route: 'chat' },
  cohere: { type: 'cohere', framing: 'sse-event', route: 'chat' },
  google: { type: 'google', framing: 'sse-crlf', route: 'chat' },
  bedrock: { type: 'bedrock', framing: 'aws-event-stream', route: 'chat' },
  'openai-responses': { type: 'openai', framing: 'sse-event', route: 'responses' },
};

export type RecordedBody =
  | { readonly kind: 'completion'; readonly body: unknown }
  | { readonly kind: 'error'; readonly body: unknown; readonly status: number }
  | { readonly kind: 'embeddings'; readonly body: unknown };

export interface Case {
  readonly provider: string;
  readonly name: string;
  readonly json?: RecordedBody;
  /** One event payload per line, in order. */
  readonly chunks?: readonly string[];
}

export function discoverCases(dir: string): Case[] {
  const cases: Case[] = [];
  for (const provider of readdirSync(dir).toSorted()) {
    const folder = path.join(dir, provider);
    if (!statSync(folder).isDirectory()) continue;
    const names = new Set(
      readdirSync(folder)
        .filter((file) => file.endsWith('.json') || file.endsWith('.chunks.txt'))
        .map((file) => file.replace(/\.chunks\.txt$|\.json$/, '')),
    );
    for (const name of [...names].toSorted()) {
      const jsonFile = path.join(folder, `${name}.json`);
      const chunksFile = path.join(folder, `${name}.chunks.txt`);
      const json = exists(jsonFile) ? classify(JSON.parse(readFileSync(jsonFile, 'utf8')) as unknown) : undefined;
      const chunks = exists(chunksFile)
        ? readFileSync(chunksFile, 'utf8')
            .split('\n')
            .filter((line) => line.trim() !== '')
        : undefined;
      cases.push({ provider, name, ...(json ? { json } : {}), ...(chunks ? { chunks } : {}) });
    }
  }
  return cases;
}

function exists(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function classify(body: unknown): RecordedBody {
  const record = (body ?? {}) as Record<string, unknown>;
  if ('error' in record && record['error'] !== null) return { kind: 'error', body, status: recordedStatus(record) };
  if (record['type'] === 'error') return { kind: 'error', body, status: recordedStatus(record) };
  if ('embeddings' in record || (record['object'] === 'list' && Array.isArray(record['data']))) return { kind: 'embeddings', body };
  return { kind: 'completion', body };
}

const STATUS_BY_KIND: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  insufficient_quota: 429,
  rate_limit_error: 429,
  rate_limit_exceeded: 429,
  overloaded_error: 529,
  api_error: 500,
  server_error: 500,
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

/** The HTTP status the provider sent with a recorded error body (bodies are recorded without it). */
function recordedStatus(body: Record<string, unknown>): number {
  const error = (body['error'] ?? {}) as Record<string, unknown>;
  if (typeof error['code'] === 'number') return error['code'];
  for (const key of [error['code'], error['type'], error['status']]) {
    if (typeof key === 'string' && STATUS_BY_KIND[key] !== undefined) return STATUS_BY_KIND[key];
  }
  return 400;
}
