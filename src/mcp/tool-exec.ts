import type { CallToolResult } from '@modelcontextprotocol/client';
import { mcpSdk } from './sdk.ts';
import { mcpToolCallFinished, type McpToolCallFinished, type McpToolCallOutcome } from '../observability/events.ts';
import type { ChatMessage } from '../providers/types.ts';
import { canonicalJson } from './canonical-json.ts';
import type { McpConnection } from './connection.ts';
import { escapeBlock } from './inject.ts';
import type { McpTool } from './toolset.ts';
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';

/** A tool call as the model made it. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

export interface ToolRunOptions {
  readonly requestId: string;
  readonly signal: AbortSignal;
  readonly maxOutputBytes: number;
}

export interface ToolRun {
  readonly message: ChatMessage;
  readonly outcome: McpToolCallOutcome;
}

/**
 * Runs one call: arguments parsed and validated against the tool's schema first (invalid
 * ones go back to the model as a tool error it can correct), output capped in bytes and
 * wrapped as data. Never throws: every failure becomes the tool message the model sees.
 */
export async function runToolCall(call: ToolCall, tool: McpTool, connection: McpConnection, options: ToolRunOptions): Promise<ToolRun> {
  const startedAt = performance.now();
  const { outcome, text } = await execute(call, tool, connection, options.signal);
  const capped = capBytes(text, options.maxOutputBytes);
  const error = outcome === 'ok' ? '' : ` error="${outcome}"`;
  const content = `<tool_result server="${tool.server}" tool="${tool.name}"${error}>\n${escapeBlock(capped, 'tool_result')}\n</tool_result>`;
  if (mcpToolCallFinished.hasSubscribers) {
    const event: McpToolCallFinished = {
      requestId: options.requestId,
      server: tool.server,
      tool: tool.name,
      outcome,
      durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
      arguments: call.arguments,
      result: capped,
    };
    mcpToolCallFinished.publish(event);
  }
  return { message: { role: 'tool', tool_call_id: call.id, content }, outcome };
}

async function execute(
  call: ToolCall,
  tool: McpTool,
  connection: McpConnection,
  signal: AbortSignal,
): Promise<{ outcome: McpToolCallOutcome; text: string }> {
  let args: unknown;
  try {
    args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
  } catch {
    return { outcome: 'invalid_arguments', text: `The arguments are not valid JSON: ${call.arguments.slice(0, 200)}` };
  }
  const problem =
    typeof args === 'object' && args !== null && !Array.isArray(args) ? tool.validate(args) : 'arguments must be a JSON object';
  if (problem !== undefined)
    return { outcome: 'invalid_arguments', text: `Invalid arguments for ${tool.name}: ${problem}. Fix them and call again.` };
  const client = connection.client;
  if (client === undefined) return { outcome: 'unavailable', text: `The MCP server ${tool.server} is unavailable right now.` };
  try {
    const result = await client.callTool(
      { name: tool.name, arguments: args as Record<string, unknown> },
      { signal, timeout: connection.config.timeout_ms, toolDefinition: tool.definition },
    );
    return { outcome: result.isError === true ? 'tool_error' : 'ok', text: resultText(result) };
  } catch (error) {
    const { SdkError, SdkErrorCode } = mcpSdk();
    if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
      return { outcome: 'timeout', text: `The tool did not answer within ${connection.config.timeout_ms} ms.` };
    }
    if (isTransportFailure(error) && !signal.aborted) connection.reportBroken(error);
    return { outcome: 'failed', text: `The tool call failed: ${connection.describeError(error)}` };
  }
}

/**
 * Whether a failed call means the connection is gone. An error answer (ProtocolError) or a
 * result the SDK rejects (InvalidResult: bad base64, a malformed block) is this call's
 * problem; losing the transport, or an error the SDK did not raise, is the connection's.
 */
function isTransportFailure(error: unknown): boolean {
  const { ProtocolError, SdkError, SdkErrorCode, SdkHttpError } = mcpSdk();
  if (error instanceof ProtocolError) return false;
  if (!(error instanceof SdkError)) return true;
  if (error instanceof SdkHttpError) return true;
  return error.code === SdkErrorCode.NotConnected || error.code === SdkErrorCode.ConnectionClosed || error.code === SdkErrorCode.SendFailed;
}

function resultText(result: CallToolResult): string {
  const parts = result.content.map((block) => {
    switch (block.type) {
      case 'text':
        return block.text;
      case 'resource':
        return 'text' in block.resource ? block.resource.text : `[binary resource ${block.resource.uri} omitted]`;
      case 'resource_link':
        return `[resource ${block.uri}${block.name ? ` (${block.name})` : ''}]`;
      default:
        return `[${block.type} content omitted]`;
    }
  });
  if (parts.length === 0 && result.structuredContent !== undefined) parts.push(canonicalJson(result.structuredContent));
  return parts.join('\n');
}

/** Cuts text to a byte budget on a character boundary, saying how much was cut. */
export function capBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  let cut = Buffer.from(text).subarray(0, maxBytes).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return `${cut}\n[truncated: ${bytes - Buffer.byteLength(cut)} more bytes]`;
}
