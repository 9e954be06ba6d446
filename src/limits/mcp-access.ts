import { parseMcpHeader } from '../mcp/policy.ts';
import type { CallerKey, RequestContext } from '../pipeline/context.ts';
import type { ChatRequest } from '../providers/types.ts';
import { GatewayError } from '../server/errors.ts';
import { requestHeader } from '../server/request-headers.ts';

/**
 * Refuses (403) a request that asks for an MCP server or tool its key may not use: servers named
 * in `x-lightport-mcp`, and `{"type":"mcp","server_label":...,"allowed_tools":[...]}` tool entries.
 * The MCP stage narrows the tools it injects with `key.allowsMcp(server, tool)` as well.
 */
export function checkMcpAccess(key: CallerKey, context: RequestContext, request: ChatRequest): void {
  const header = requestHeader(context.req, 'x-lightport-mcp');
  if (header !== undefined) {
    for (const name of parseMcpHeader(header)) if (!key.allowsMcp(name)) throw serverRefused(name);
  }
  if (request.tools === undefined) return;
  for (const tool of request.tools) {
    if (tool.type !== 'mcp' || typeof tool['server_label'] !== 'string') continue;
    const server = tool['server_label'];
    const names = toolNames(tool['allowed_tools']);
    if (names === undefined) {
      if (!key.allowsMcp(server)) throw serverRefused(server);
      continue;
    }
    for (const name of names) {
      if (!key.allowsMcp(server, name)) {
        throw new GatewayError('mcp_not_allowed', `This key may not use the tool '${name}' of the MCP server '${server}'.`, {
          param: 'tools',
        });
      }
    }
  }
}

/** `allowed_tools` as a list of names, or OpenAI's `{tool_names: [...]}`. */
function toolNames(allowed: unknown): string[] | undefined {
  const list = Array.isArray(allowed)
    ? allowed
    : typeof allowed === 'object' && allowed !== null && Array.isArray((allowed as { tool_names?: unknown }).tool_names)
      ? (allowed as { tool_names: unknown[] }).tool_names
      : undefined;
  return list?.filter((name): name is string => typeof name === 'string');
}

function serverRefused(server: string): GatewayError {
  return new GatewayError('mcp_not_allowed', `This key may not use the MCP server '${server}'.`, { param: 'x-lightport-mcp' });
}
