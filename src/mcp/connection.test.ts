import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.ts';
import { createLogger } from '../observability/logger.ts';
import { McpConnection } from './connection.ts';

const servers = configSchema.parse({
  mcp: {
    servers: {
      remote: {
        transport: 'http',
        url: 'https://mcp.example.com/sk-abc123/v2/mcp?team=team-q1',
        bearer_token: 'bearer-tok-1',
        headers: { 'x-mcp-auth': 'hdr-tok-1' },
      },
      local: { transport: 'stdio', command: 'node', env: { SERVICE_DSN: 'env-tok-1' } },
    },
  },
}).mcp.servers;

const listener = { onToolsChanged() {}, onPromptsChanged() {}, onResourceUpdated() {}, onConnected() {} };
const connection = (name: 'remote' | 'local') => new McpConnection(name, servers[name]!, createLogger('silent'), listener);

describe('MCP server errors, as logged and as shown to the model', () => {
  it("leave out the server's credentials and what its URL holds beyond the host", () => {
    const quoted = new Error(
      'Error POSTing to endpoint: Cannot POST /sk-abc123/v2/mcp?team=team-q1 (Bearer bearer-tok-1, x-mcp-auth: hdr-tok-1) at https://mcp.example.com/sk-abc123/v2/mcp?team=team-q1',
    );
    const described = connection('remote').describeError(quoted);
    for (const secret of ['sk-abc123', 'team-q1', 'bearer-tok-1', 'hdr-tok-1']) expect(described).not.toContain(secret);
    expect(described).toContain('Error POSTing to endpoint: Cannot POST /[redacted]/v2/mcp?team=[redacted]');
    expect(described).toContain('at https://mcp.example.com/[redacted]/v2/mcp?team=[redacted]');
    expect(connection('local').describeError('spawn failed with env-tok-1')).toBe('spawn failed with [redacted]');
  });
});
