import type { ReadResourceResult } from '@modelcontextprotocol/client';
import type { McpSourceConfig } from '../../config/mcp-schema.ts';
import type { McpConnection } from '../connection.ts';
import { RequestTemplate } from '../templates.ts';
import { sourceBase, type ContextSource } from './source.ts';

type ResourceConfig = Extract<McpSourceConfig, { type: 'mcp_resource' }>;

/** Cache keys of resources start with this, so `notifications/resources/updated` can drop every partition of one URI. */
export function resourceKeyPrefix(server: string, uri: string): string {
  return `resource\0${server}\0${uri}\0`;
}

/** An MCP resource, by fixed URI or a template filled from request variables; watched for updates when the server allows. */
export function mcpResourceSource(name: string, config: ResourceConfig, connection: McpConnection): ContextSource {
  const template = new RequestTemplate(config.uri, 'uri');
  return {
    ...sourceBase(name, 'mcp_resource', config, 'context'),
    server: config.server,
    resolve(variables) {
      const rendered = template.render(variables);
      if (!rendered.ok) return { kind: 'skip', reason: `needs request variable ${rendered.missing}` };
      const uri = rendered.text;
      return {
        kind: 'fetch',
        key: resourceKeyPrefix(config.server, uri),
        fetch: async (signal) => {
          const client = connection.client;
          if (client === undefined) throw new Error(`MCP server ${config.server} is unavailable`);
          const result = await client.readResource({ uri }, { signal, timeout: connection.config.timeout_ms, cacheMode: 'bypass' });
          connection.watchResource(uri);
          return { value: resourceText(result), ttlMs: cacheHint(result) ?? config.ttl_ms };
        },
      };
    },
  };
}

function resourceText(result: ReadResourceResult): string {
  return result.contents
    .map((content) =>
      'text' in content ? content.text : `[binary resource ${content.uri} omitted (${content.mimeType ?? 'unknown type'})]`,
    )
    .join('\n');
}

/**
 * The server's cache hint (MCP `ttlMs`, 2026-07-28), when it gave one. Zero is what SDK
 * servers send when their author set nothing, so it reads as no hint; `ttl_ms: 0` in the
 * config is how an operator turns caching off.
 */
export function cacheHint(result: object): number | undefined {
  const ttl = (result as { ttlMs?: unknown }).ttlMs;
  return typeof ttl === 'number' && ttl > 0 ? ttl : undefined;
}
