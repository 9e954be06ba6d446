import { Buffer } from 'node:buffer';
import { JSONPath } from 'jsonpath-plus';
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import type { McpSourceConfig } from '../../config/mcp-schema.ts';
import { replaceSecrets, SHORTEST_SECRET, urlPathSecrets } from '../../observability/redaction.ts';
import { canonicalJson } from '../canonical-json.ts';
import { RequestTemplate } from '../templates.ts';
import { sourceBase, type ContextSource } from './source.ts';

type RestConfig = Extract<McpSourceConfig, { type: 'rest' }>;

const BODY_LIMIT = 1024 * 1024;

/**
 * A REST endpoint (a user-profile store, a retrieval service): the URL is a template over
 * request variables, so each identity gets its own cache entry. JSON answers are reduced
 * by `json_path` and serialized with sorted keys, so the same data injects the same bytes.
 * Errors (which are logged) leave out the header values and what the URL holds beyond its host.
 */
export function restSource(name: string, config: RestConfig, dispatcher: Dispatcher): ContextSource {
  const template = new RequestTemplate(config.url, 'uri');
  const secrets = [...Object.values(config.headers), ...urlPathSecrets(config.url, SHORTEST_SECRET)];
  return {
    ...sourceBase(name, 'rest', config, 'context'),
    resolve(variables) {
      const rendered = template.render(variables);
      if (!rendered.ok) return { kind: 'skip', reason: `needs request variable ${rendered.missing}` };
      const url = rendered.text;
      return {
        kind: 'fetch',
        key: `rest\0${name}\0${url}`,
        fetch: async (signal) => {
          try {
            return { value: await fetchText(url, config, dispatcher, signal), ttlMs: config.ttl_ms };
          } catch (error) {
            // A JSON parse error quotes the answer, which may quote the path it was asked for. No
            // cause: it would carry the unscrubbed message along.
            // oxlint-disable-next-line preserve-caught-error
            throw new Error(replaceSecrets(error instanceof Error ? error.message : String(error), secrets));
          }
        },
      };
    },
  };
}

async function fetchText(url: string, config: RestConfig, dispatcher: Dispatcher, signal: AbortSignal): Promise<string> {
  const response = await request(url, {
    dispatcher,
    headers: { accept: 'application/json, text/plain;q=0.9, */*;q=0.5', ...config.headers },
    headersTimeout: config.timeout_ms,
    bodyTimeout: config.timeout_ms,
    signal,
  });
  if (response.statusCode < 200 || response.statusCode >= 300) {
    await response.body.dump();
    throw new Error(`HTTP ${response.statusCode}`);
  }
  const length = Number(response.headers['content-length'] ?? 0);
  if (length > BODY_LIMIT) {
    await response.body.dump();
    throw new Error(`answer larger than ${BODY_LIMIT} bytes`);
  }
  const text = await readLimited(response.body);
  const type = String(response.headers['content-type'] ?? '');
  if (!type.includes('json') && config.json_path === undefined) return text;
  const data: unknown = JSON.parse(text);
  const selected: unknown =
    config.json_path === undefined ? data : JSONPath({ path: config.json_path, json: data as object, wrap: false, eval: false });
  if (selected === undefined) throw new Error(`json_path ${config.json_path ?? ''} selected nothing`);
  return typeof selected === 'string' ? selected : canonicalJson(selected);
}

/** The body as text, stopped (and the connection dropped) once it passes the limit, whatever Content-Length said. */
async function readLimited(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > BODY_LIMIT) throw new Error(`answer larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
