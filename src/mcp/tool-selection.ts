import type { ChatTool } from '../providers/types.ts';
import { GatewayError } from '../server/errors.ts';
import type { McpConnection } from './connection.ts';
import type { McpSelection, ServerChoice } from './policy.ts';
import type { SchemaProfile } from './schema-clean.ts';
import type { CallableTool } from './tool-loop.ts';
import type { McpTool, Toolset } from './toolset.ts';

export interface ToolSelectionDeps {
  readonly connections: ReadonlyMap<string, McpConnection>;
  readonly toolset: (server: string) => Promise<Toolset>;
  /** Servers that could not be used are added here. */
  readonly unavailable: string[];
}

export interface SelectedTools {
  readonly callable: ReadonlyMap<string, CallableTool>;
  readonly offered: (profile: SchemaProfile) => readonly ChatTool[];
}

/** The MCP tools a request offers the model: each selected server's toolset, narrowed by the request, in name order. */
export async function collectTools(selection: McpSelection, deps: ToolSelectionDeps): Promise<SelectedTools> {
  const perServer = await Promise.all(selection.servers.map((choice) => serverTools(choice, deps)));
  const chosen = perServer.flat().toSorted((a, b) => (a.tool.exposedName < b.tool.exposedName ? -1 : 1));
  const callable = new Map(chosen.map((entry) => [entry.tool.exposedName, entry]));
  const memo = new Map<SchemaProfile, ChatTool[]>();
  const offered = (profile: SchemaProfile): ChatTool[] => {
    let tools = memo.get(profile);
    if (tools === undefined) memo.set(profile, (tools = chosen.map((entry) => entry.tool.offered(profile))));
    return tools;
  };
  return { callable, offered };
}

async function serverTools(choice: ServerChoice, deps: ToolSelectionDeps): Promise<CallableTool[]> {
  const connection = deps.connections.get(choice.server);
  if (connection === undefined) return [];
  let toolset: Toolset;
  try {
    if (connection.client === undefined) throw new Error('down');
    toolset = await deps.toolset(choice.server);
  } catch {
    if (connection.config.required) throw unavailableError(choice.server);
    deps.unavailable.push(choice.server);
    return [];
  }
  if (choice.tools !== undefined) {
    const unknown = [...choice.tools].filter((name) => !toolset.listed.includes(name));
    if (unknown.length > 0) {
      throw new GatewayError(
        'mcp_tool_unknown',
        `MCP server '${choice.server}' has no tool ${unknown.map((name) => `'${name}'`).join(', ')}.`,
        {
          param: choice.entryIndex === undefined ? 'x-lightport-mcp' : `tools[${choice.entryIndex}].allowed_tools`,
        },
      );
    }
  }
  const tools: McpTool[] = choice.tools === undefined ? [...toolset.tools] : toolset.tools.filter((tool) => choice.tools?.has(tool.name));
  return tools.map((tool) => ({ tool, connection, autoRun: tool.autoRun && choice.autoRun }));
}

export function unavailableError(server: string): GatewayError {
  return new GatewayError('mcp_server_unavailable', `The MCP server '${server}' is required and unavailable; retry shortly.`);
}
