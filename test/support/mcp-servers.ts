import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createMcpHandler, McpServer, type McpHttpHandler } from '@modelcontextprotocol/server';
import { REPO_ROOT } from './gateway-process.ts';

const SERVERS = join(REPO_ROOT, 'node_modules', '@modelcontextprotocol');

/** The npm MCP servers' entry points, started with this node as users' configs would start them. */
export const MCP_SERVER_BIN = {
  everything: join(SERVERS, 'server-everything', 'dist', 'index.js'),
  memory: join(SERVERS, 'server-memory', 'dist', 'index.js'),
  filesystem: join(SERVERS, 'server-filesystem', 'dist', 'index.js'),
};

/** YAML for a stdio server entry (flow style, one line). */
export function stdioServer(bin: string, args: readonly string[] = [], extra = ''): string {
  return `{ transport: stdio, command: ${JSON.stringify(process.execPath)}, args: ${JSON.stringify([bin, ...args])}${extra ? `, ${extra}` : ''} }`;
}

export interface InProcessMcpServer {
  readonly url: string;
  readonly handler: McpHttpHandler;
  /** The MCP-Protocol-Version header of every request received. */
  readonly protocolVersions: string[];
  close(): Promise<void>;
}

/**
 * An MCP server built with the SDK's server package, served over Streamable HTTP on
 * loopback; it speaks 2026-07-28 (and 2025 clients through the stateless fallback).
 */
export async function startInProcessServer(factory: () => McpServer): Promise<InProcessMcpServer> {
  const handler = createMcpHandler(factory);
  const protocolVersions: string[] = [];
  const server: Server = createServer((req, res) => {
    protocolVersions.push(String(req.headers['mcp-protocol-version'] ?? ''));
    void serve(handler, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    handler,
    protocolVersions,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await handler.close();
    },
  };
}

async function serve(handler: McpHttpHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
    const request = new Request(`http://127.0.0.1${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
    } as RequestInit);
    const response = await handler.fetch(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body !== null) for await (const chunk of response.body) res.write(chunk);
    res.end();
  } catch {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
}

export { McpServer };
