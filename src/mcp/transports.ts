import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Client, ClientOptions } from '@modelcontextprotocol/client';
import type { McpServerConfig } from '../config/mcp-schema.ts';
import type { Logger } from '../observability/logger.ts';
import { mcpSdk, mcpStdio } from './sdk.ts';
import { replaceSecrets } from '../observability/redaction.ts';

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
  const headers: Record<string, string> = { ...config.headers };
  if (config.bearer_token) headers['authorization'] = `Bearer ${config.bearer_token}`;
  const url = new URL(config.url);
  const credentials = Object.values(headers);
  const streamable = new Client(CLIENT_INFO, clientOptions);
  try {
    await connectOrClose(streamable, new StreamableHTTPClientTransport(url, { requestInit: { headers } }), connectOptions);
    return { client: streamable, transport: 'streamable-http' };
  } catch (error) {
    if (!config.sse_fallback) throw withoutCredentials(error, credentials);
    // Not the error itself: the SDK's carries the server's answer (data.text), which can echo credentials.
    logger.debug({ mcp_server: name, err: errorSummary(error, credentials) }, 'streamable HTTP failed; trying legacy HTTP+SSE');
    const legacy = new Client(CLIENT_INFO, { ...options, versionNegotiation: { mode: 'legacy' } });
    try {
      await connectOrClose(legacy, new SSEClientTransport(url, { requestInit: { headers } }), connectOptions);
    } catch {
      throw withoutCredentials(error, credentials);
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

const LONGEST_SUMMARY = 500;

/** The text with this server's credentials (header values, the bearer token) taken out. */
function scrub(text: string, credentials: readonly string[]): string {
  return replaceSecrets(text, [...credentials, ...credentials.map((credential) => credential.replace(/^bearer\s+/i, ''))]);
}

/** What went wrong, in a line: the error's message without this server's credentials, cut short. */
function errorSummary(error: unknown, credentials: readonly string[]): string {
  const text = scrub(error instanceof Error ? error.message : String(error), credentials);
  return text.length > LONGEST_SUMMARY ? `${text.slice(0, LONGEST_SUMMARY)}…` : text;
}

/** The connect error, its message (which quotes the server's answer, and is logged) without this server's credentials. */
function withoutCredentials(error: unknown, credentials: readonly string[]): unknown {
  if (error instanceof Error) error.message = scrub(error.message, credentials);
  return error;
}
