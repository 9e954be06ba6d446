import type { Dispatcher } from 'undici';
import type { StartupProblem } from '../../config/load.ts';
import type { McpConfig } from '../../config/mcp-schema.ts';
import type { Logger } from '../../observability/logger.ts';
import type { McpConnection } from '../connection.ts';
import { fileSource } from './file.ts';
import { mcpPromptSource } from './mcp-prompt.ts';
import { mcpResourceSource } from './mcp-resource.ts';
import { restSource } from './rest.ts';
import type { ContextSource } from './source.ts';

export interface SourceDeps {
  readonly connections: ReadonlyMap<string, McpConnection>;
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
}

/** Builds every configured source; one that cannot be built (a missing file, a bad template) is a start-up problem. */
export function buildSources(
  configs: McpConfig['sources'],
  deps: SourceDeps,
): { sources: ReadonlyMap<string, ContextSource>; problems: StartupProblem[] } {
  const sources = new Map<string, ContextSource>();
  const problems: StartupProblem[] = [];
  for (const [name, config] of Object.entries(configs)) {
    try {
      sources.set(name, buildSource(name, config, deps));
    } catch (error) {
      problems.push({ path: ['mcp', 'sources', name], message: error instanceof Error ? error.message : String(error) });
    }
  }
  return { sources, problems };
}

function buildSource(name: string, config: McpConfig['sources'][string], deps: SourceDeps): ContextSource {
  switch (config.type) {
    case 'mcp_resource':
      return mcpResourceSource(name, config, connectionFor(config.server, deps));
    case 'mcp_prompt':
      return mcpPromptSource(name, config, connectionFor(config.server, deps));
    case 'rest':
      return restSource(name, config, deps.dispatcher);
    case 'file':
      return fileSource(name, config, process.cwd(), deps.logger);
  }
}

function connectionFor(server: string, deps: SourceDeps): McpConnection {
  const connection = deps.connections.get(server);
  if (connection === undefined) throw new Error(`unknown MCP server "${server}"`);
  return connection;
}
