import type { GetPromptResult } from '@modelcontextprotocol/client';
import type { McpSourceConfig } from '../../config/mcp-schema.ts';
import { canonicalJson } from '../canonical-json.ts';
import type { McpConnection } from '../connection.ts';
import { RequestTemplate } from '../templates.ts';
import { cacheHint } from './mcp-resource.ts';
import { sourceBase, type ContextSource } from './source.ts';

type PromptConfig = Extract<McpSourceConfig, { type: 'mcp_prompt' }>;

/** An MCP prompt, its arguments filled from request variables, rendered as text. */
export function mcpPromptSource(name: string, config: PromptConfig, connection: McpConnection): ContextSource {
  const argumentTemplates = Object.entries(config.arguments)
    .toSorted(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => [key, new RequestTemplate(value, 'text')] as const);
  return {
    ...sourceBase(name, 'mcp_prompt', config, 'context'),
    server: config.server,
    resolve(variables) {
      const args: Record<string, string> = {};
      for (const [key, template] of argumentTemplates) {
        const rendered = template.render(variables);
        if (!rendered.ok) return { kind: 'skip', reason: `needs request variable ${rendered.missing}` };
        args[key] = rendered.text;
      }
      return {
        kind: 'fetch',
        key: `prompt\0${config.server}\0${config.name}\0${canonicalJson(args)}`,
        fetch: async (signal) => {
          const client = connection.client;
          if (client === undefined) throw new Error(`MCP server ${config.server} is unavailable`);
          const result = await client.getPrompt({ name: config.name, arguments: args }, { signal, timeout: connection.config.timeout_ms });
          return { value: promptText(result), ttlMs: cacheHint(result) ?? config.ttl_ms };
        },
      };
    },
  };
}

function promptText(result: GetPromptResult): string {
  return result.messages
    .map((message) => {
      const content = message.content;
      const text =
        content.type === 'text'
          ? content.text
          : content.type === 'resource' && 'text' in content.resource
            ? content.resource.text
            : `[${content.type} omitted]`;
      return `${message.role}: ${text}`;
    })
    .join('\n');
}
