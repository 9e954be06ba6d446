import { describe, expect, it } from 'vitest';
import { mcpSchema } from '../config/mcp-schema.ts';
import { GatewayError } from '../server/errors.ts';
import { narrowSelection, PolicySet } from './policy.ts';
import { splitMcpEntries } from './tool-entries.ts';

const config = mcpSchema.parse({
  servers: {
    crm: { transport: 'http', url: 'http://127.0.0.1:1/mcp' },
    docs: { transport: 'http', url: 'http://127.0.0.1:2/mcp' },
    admin: { transport: 'http', url: 'http://127.0.0.1:3/mcp' },
  },
  policies: [
    { models: ['support-*'], servers: ['crm'], opt_in_servers: ['docs'] },
    { models: ['*'], servers: [] },
    { rules: ['escalations'], servers: ['admin'] },
  ],
});
const policies = new PolicySet(config);

function errorCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof GatewayError ? error.code : 'other';
  }
  return undefined;
}

describe('PolicySet', () => {
  it('offers the policy defaults for matching models, nothing for others', () => {
    expect(policies.select('support-bot', undefined, undefined, []).servers.map((choice) => choice.server)).toEqual(['crm']);
    expect(policies.select('other', undefined, undefined, []).servers).toEqual([]);
  });

  it('adds the servers of policies attached to the routing rules that routed the request', () => {
    expect(policies.select('support-bot', ['escalations'], undefined, []).servers.map((choice) => choice.server)).toEqual(['crm', 'admin']);
    expect(policies.select('other', ['escalations'], undefined, []).servers.map((choice) => choice.server)).toEqual(['admin']);
    // A policy with rules and no models applies to no model by name.
    expect(policies.select('other', ['cheap'], undefined, []).servers).toEqual([]);
    expect(errorCode(() => policies.select('other', ['cheap'], 'admin', []))).toBe('mcp_server_not_allowed');
  });

  it('lets the header narrow or opt in, only among allowed servers', () => {
    expect(policies.select('support-bot', undefined, 'docs', []).servers.map((choice) => choice.server)).toEqual(['docs']);
    expect(policies.select('support-bot', undefined, 'none', []).servers).toEqual([]);
    expect(errorCode(() => policies.select('support-bot', undefined, 'admin', []))).toBe('mcp_server_not_allowed');
    expect(errorCode(() => policies.select('support-bot', undefined, 'crn', []))).toBe('mcp_server_unknown');
  });

  it('reads MCP tool entries: allowed tools narrow, approval turns auto-run off', () => {
    const { entries, rest } = splitMcpEntries([
      { type: 'function', function: { name: 'mine' } },
      { type: 'mcp', server_label: 'docs', allowed_tools: { tool_names: ['search'] }, require_approval: 'always' },
    ]);
    expect(rest).toEqual([{ type: 'function', function: { name: 'mine' } }]);
    const [choice] = policies.select('support-bot', undefined, undefined, entries).servers;
    expect(choice?.server).toBe('docs');
    expect([...(choice?.tools ?? [])]).toEqual(['search']);
    expect(choice?.autoRun).toBe(false);
    expect(errorCode(() => splitMcpEntries([{ type: 'mcp', server_label: 'docs', server_url: 'https://x' }]))).toBe('invalid_request');
  });

  it('narrows a selection with a per-key allowlist, never widening it', () => {
    const selection = {
      servers: [
        { server: 'crm', autoRun: true },
        { server: 'docs', autoRun: true, tools: new Set(['a', 'b']) },
      ],
      sources: [],
    };
    const narrowed = narrowSelection(selection, { servers: ['docs', 'admin'], tools: { docs: ['b', 'c'] } }, () => undefined);
    expect(narrowed.servers.map((choice) => choice.server)).toEqual(['docs']);
    expect([...(narrowed.servers[0]?.tools ?? [])]).toEqual(['b']);
  });

  it('drops the sources that read from servers a per-key allowlist bars', () => {
    const selection = { servers: [], sources: ['handbook', 'account', 'tone', 'notes'] };
    const serverOf = (source: string) => ({ account: 'crm', tone: 'crm', notes: 'docs' })[source];
    expect(narrowSelection(selection, { servers: ['docs'] }, serverOf).sources).toEqual(['handbook', 'notes']);
    expect(narrowSelection(selection, { servers: [] }, serverOf).sources).toEqual(['handbook']);
    expect(narrowSelection(selection, { tools: { crm: ['find'] } }, serverOf).sources).toEqual(selection.sources);
  });
});

describe('mcp config checks', () => {
  it('reports unknown servers and sources in policies, and auto_run names outside the allowlist', () => {
    const result = mcpSchema.safeParse({
      servers: { crm: { transport: 'http', url: 'http://x/mcp', tools: { allow: ['a'], auto_run: ['b'] } } },
      policies: [{ servers: ['crn'], sources: ['kb'] }],
    });
    expect(result.success).toBe(false);
    const messages = result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(messages).toEqual([
      'policies.0.servers.0: unknown MCP server "crn"',
      'policies.0.sources.0: unknown context source "kb"',
      'servers.crm.tools.auto_run.0: "b" is not an allowed tool',
    ]);
  });
});
