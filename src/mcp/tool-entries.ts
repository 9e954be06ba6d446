import type { ChatTool } from '../providers/types.ts';
import { GatewayError } from '../server/errors.ts';

/** An OpenAI Responses-style MCP tool entry in a chat request: it names a configured server, nothing more. */
export interface McpToolEntry {
  readonly server: string;
  readonly allowedTools?: readonly string[];
  /** true unless the entry asks for approval ("always", or per-tool rules). */
  readonly autoRun: boolean;
  readonly index: number;
}

/** Fields that would make the gateway connect somewhere a request chose: refused. */
const REMOTE_FIELDS = ['server_url', 'connector_id', 'command', 'url', 'authorization', 'headers'];

export function splitMcpEntries(tools: ChatTool[] | undefined): { entries: McpToolEntry[]; rest: ChatTool[] | undefined } {
  if (tools === undefined || !tools.some(isMcpEntry)) return { entries: [], rest: tools };
  const entries: McpToolEntry[] = [];
  const rest: ChatTool[] = [];
  tools.forEach((tool, index) => (tool.type === 'mcp' ? entries.push(parseEntry(tool, index)) : rest.push(tool)));
  return { entries, rest };
}

export function isMcpEntry(tool: ChatTool): boolean {
  return tool.type === 'mcp';
}

function parseEntry(tool: ChatTool, index: number): McpToolEntry {
  const param = `tools[${index}]`;
  for (const field of REMOTE_FIELDS) {
    if (tool[field] !== undefined) {
      throw new GatewayError(
        'invalid_request',
        `'${param}.${field}' is not accepted: Lightport only connects to MCP servers configured in mcp.servers; name one in server_label.`,
        { param: `${param}.${field}` },
      );
    }
  }
  const label = tool['server_label'];
  if (typeof label !== 'string' || label === '') {
    throw new GatewayError('invalid_request', `Missing required parameter: '${param}.server_label'.`, { param: `${param}.server_label` });
  }
  const allowedTools = parseAllowedTools(tool['allowed_tools'], param);
  const approval = tool['require_approval'];
  const autoRun = approval === undefined || approval === 'never';
  return { server: label, index, autoRun, ...(allowedTools === undefined ? {} : { allowedTools }) };
}

function parseAllowedTools(value: unknown, param: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const names = Array.isArray(value) ? value : (value as { tool_names?: unknown }).tool_names;
  if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) {
    throw new GatewayError('invalid_request', `'${param}.allowed_tools' must be a list of tool names (or {tool_names: [...]}).`, {
      param: `${param}.allowed_tools`,
    });
  }
  return names as string[];
}
