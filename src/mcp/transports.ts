import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Client, ClientOptions } from '@modelcontextprotocol/client';
import type { McpServerConfig } from '../config/mcp-schema.ts';
import type { Logger } from '../observability/logger.ts';
import { mcpSdk, mcpStdio } from './sdk.ts';
import { replaceSecrets, SHORTEST_SECRET, urlPathSecrets } from '../observability/redaction.ts';

export interface OpenedClient {
  readonly client: Client;
  readonly transport: 'stdio' | 'streamable-http' | 'sse';
}

const CLIENT_INFO = { name: 'lightport', version: '0.1.0' };

function negotiation(protocol: McpServerConfig['protocol']): ClientOptions['versionNegotiation'] {
  if (protocol === 'auto') return { mode: 'auto' };
  if (protocol === '2025-11-25') return { mode: 'legacy' };
  return { mode: { pin: protocol } };
}

/**
 * Connects one configured server: a stdio child started with a minimal environment, or
 * Streamable HTTP with the legacy HTTP+SSE transport as a fallback. The SDK negotiates
 * the protocol revision (2026-07-28 through server/discover, else 2025-11-25).
 */
export async function openClient(name: string, config: McpServerConfig, options: ClientOptions, logger: Logger): Promise<OpenedClient> {
  const { Client, SSEClientTransport, StreamableHTTPClientTransport } = mcpSdk();
  const clientOptions: ClientOptions = { ...options, versionNegotiation: negotiation(config.protocol) };
  const connectOptions = { timeout: config.connect_timeout_ms };
  if (config.transport === 'stdio') {
    const transport = new (mcpStdio().StdioClientTransport)({
      command: config.command,
      args: config.args,
      env: config.env,
      ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
      stderr: 'pipe',
    });
    const stderr = transport.stderr;
    if (stderr instanceof Readable) {
      createInterface({ input: stderr }).on('line', (line) => logger.debug({ mcp_server: name, stderr: line }, 'mcp server stderr'));
    }
    const client = new Client(CLIENT_INFO, clientOptions);
    await connectOrClose(client, transport, connectOptions);
    return { client, transport: 'stdio' };
  }
  const headers = requestHeaders(config);
  const url = new URL(config.url);
  const secrets = serverSecrets(config);
  const streamable = new Client(CLIENT_INFO, clientOptions);
  try {
    await connectOrClose(streamable, new StreamableHTTPClientTransport(url, { requestInit: { headers } }), connectOptions);
    return { client: streamable, transport: 'streamable-http' };
  } catch (error) {
    if (!config.sse_fallback) throw withoutSecrets(error, secrets);
    // Not the error itself: the SDK's carries the server's answer (data.text), which can echo credentials or the URL's path.
    logger.debug({ mcp_server: name, err: errorSummary(error, secrets) }, 'streamable HTTP failed; trying legacy HTTP+SSE');
    const legacy = new Client(CLIENT_INFO, { ...options, versionNegotiation: { mode: 'legacy' } });
    try {
      await connectOrClose(legacy, new SSEClientTransport(url, { requestInit: { headers } }), connectOptions);
    } catch {
      throw withoutSecrets(error, secrets);
    }
    return { client: legacy, transport: 'sse' };
  }
}

async function connectOrClose(client: Client, transport: Parameters<Client['connect']>[0], options: { timeout: number }): Promise<void> {
  try {
    await client.connect(transport, options);
  } catch (error) {
    await client.close().catch(() => undefined);
    await transport.close().catch(() => undefined);
    throw error;
  }
}

type HttpServerConfig = Extract<McpServerConfig, { transport: 'http' }>;

function requestHeaders(config: HttpServerConfig): Record<string, string> {
  const headers: Record<string, string> = { ...config.headers };
  if (config.bearer_token) headers['authorization'] = `Bearer ${config.bearer_token}`;
  return headers;
}

/**
 * What this server's errors must not show, since they quote its answers and its answers can
 * quote the request: its credentials (header values, the bearer token, a stdio child's
 * environment) and whatever its URL may hold beyond the host (user info, every path segment
 * and query value: `Cannot POST /<token>/mcp`). The host stays readable.
 */
export function serverSecrets(config: McpServerConfig): string[] {
  if (config.transport === 'stdio') return Object.values(config.env);
  const credentials = Object.values(requestHeaders(config));
  return [
    ...credentials,
    ...credentials.map((credential) => credential.replace(/^bearer\s+/i, '')),
    ...urlPathSecrets(config.url, SHORTEST_SECRET),
  ];
}

const LONGEST_SUMMARY = 500;

/** What went wrong, in a line: the error's message without this server's secrets, cut short. */
function errorSummary(error: unknown, secrets: readonly string[]): string {
  const text = replaceSecrets(error instanceof Error ? error.message : String(error), secrets);
  return text.length > LONGEST_SUMMARY ? `${text.slice(0, LONGEST_SUMMARY)}…` : text;
}

/** The connect error, its message (which quotes the server's answer, and is logged) without this server's secrets. */
function withoutSecrets(error: unknown, secrets: readonly string[]): unknown {
  if (error instanceof Error) error.message = replaceSecrets(error.message, secrets);
  return error;
}
