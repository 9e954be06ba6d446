import { z } from 'zod';

/** Server names become tool-name prefixes (`<server>__<tool>`), so they stay short and plain. */
const SERVER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*$/;
const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const milliseconds = z.int().positive();
const stringMap = z.record(z.string(), z.string());

const toolsSchema = z.strictObject({
  allow: z.array(z.string().min(1)).optional().describe('Only these tools are offered; a name the server lacks is a start-up error.'),
  deny: z.array(z.string().min(1)).default([]).describe('These tools are never offered; a name the server lacks is a start-up error.'),
  auto_run: z
    .union([z.boolean(), z.array(z.string().min(1))])
    .default(true)
    .describe('Tools the gateway runs itself in the tool loop (true: all offered); others go back to the client.'),
  pinning: z
    .enum(['off', 'trust_on_first_use', 'strict'])
    .default('trust_on_first_use')
    .describe('Rug-pull protection: a tool whose definition changes from its pin is quarantined.'),
  pins: stringMap.default({}).describe('Approved definition hashes, tool name -> "sha256:...".'),
});

const serverFields = {
  required: z.boolean().default(false).describe('When true, a request that selects this server fails (503) while it is down.'),
  protocol: z
    .enum(['auto', '2025-11-25', '2026-07-28'])
    .default('auto')
    .describe('auto probes server/discover (2026-07-28) and falls back to initialize (2025-11-25).'),
  timeout_ms: milliseconds.default(30_000).describe('Per MCP request (tool call, list, read).'),
  connect_timeout_ms: milliseconds.default(10_000),
  cache_ttl_ms: z.int().nonnegative().default(300_000).describe('How long tool lists stay cached when the server gives no hint.'),
  tools: toolsSchema.default(toolsSchema.parse({})),
};

const stdioServerSchema = z.strictObject({
  transport: z.literal('stdio'),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: stringMap.default({}).describe('Added to a minimal environment (PATH, HOME, USER...); the gateway’s own is not inherited.'),
  cwd: z.string().optional(),
  ...serverFields,
});

const httpServerSchema = z.strictObject({
  transport: z.literal('http'),
  url: z.url(),
  headers: stringMap.default({}),
  bearer_token: z.string().optional().describe('Sent as Authorization: Bearer. Use ${ENV_VAR}.'),
  sse_fallback: z.boolean().default(true).describe('Try the legacy HTTP+SSE transport when Streamable HTTP fails.'),
  ...serverFields,
});

const serverSchema = z.discriminatedUnion('transport', [stdioServerSchema, httpServerSchema]);

const sourceFields = {
  inject: z
    .enum(['system', 'context'])
    .optional()
    .describe('system: operator content in the system message; context: a delimited data block (default for fetched content).'),
  max_tokens: z.int().positive().default(1000).describe('Budget (estimated tokens); longer content is truncated.'),
  ttl_ms: z.int().nonnegative().default(60_000).describe('Cache lifetime; MCP cache hints take precedence.'),
};

const resourceSourceSchema = z.strictObject({
  type: z.literal('mcp_resource'),
  server: z.string(),
  uri: z.string().min(1).describe('A URI or RFC 6570 template over request variables: {user}, {model}, {metadata.KEY}.'),
  ...sourceFields,
});

const promptSourceSchema = z.strictObject({
  type: z.literal('mcp_prompt'),
  server: z.string(),
  name: z.string().min(1),
  arguments: stringMap.default({}).describe('Values may use {user}, {model}, {metadata.KEY}.'),
  ...sourceFields,
});

const restSourceSchema = z.strictObject({
  type: z.literal('rest'),
  url: z.string().min(1).describe('An http(s) URL or RFC 6570 template over request variables.'),
  headers: stringMap.default({}),
  json_path: z.string().optional().describe('JSONPath selecting the part of the JSON answer to inject, e.g. $.profile.'),
  timeout_ms: milliseconds.default(5000),
  ...sourceFields,
});

const fileSourceSchema = z.strictObject({
  type: z.literal('file'),
  path: z.string().min(1).describe('Markdown, text or JSON; reloaded when it changes.'),
  ...sourceFields,
});

const sourceSchema = z.discriminatedUnion('type', [resourceSourceSchema, promptSourceSchema, restSourceSchema, fileSourceSchema]);

const policySchema = z.strictObject({
  name: z.string().optional(),
  models: z
    .array(z.string().min(1))
    .optional()
    .describe('Request model names this policy applies to; * matches any run of characters. Default: every model, unless rules are given.'),
  rules: z
    .array(z.string().min(1))
    .default([])
    .describe('Named routing rules (models.<name>.rules[].name): the policy applies to requests such a rule routed.'),
  servers: z.array(z.string()).default([]).describe('MCP servers whose tools are offered by default.'),
  opt_in_servers: z.array(z.string()).default([]).describe('Servers offered only when the request asks for them.'),
  sources: z.array(z.string()).default([]).describe('Context sources injected, in this order.'),
});

const toolLoopSchema = z.strictObject({
  max_iterations: z.int().min(1).max(50).default(5).describe('Rounds of tool execution before the model must answer.'),
  max_output_bytes: z.int().positive().default(16_384).describe('Each tool result is cut to this size.'),
  total_timeout_ms: milliseconds.default(120_000).describe('Time budget for all tool calls of one request.'),
});

export const mcpSchema = z
  .strictObject({
    servers: z.record(z.string().regex(SERVER_NAME, 'server names use letters, digits, - and single _'), serverSchema).default({}),
    sources: z.record(z.string().regex(SOURCE_NAME, 'source names use letters, digits, _ . -'), sourceSchema).default({}),
    policies: z.array(policySchema).default([]),
    tool_loop: toolLoopSchema.default(toolLoopSchema.parse({})),
    cache_max_entries: z.int().positive().default(10_000),
  })
  .superRefine(checkMcpReferences);

type McpInput = z.output<typeof mcpSchema>;

function checkMcpReferences(mcp: McpInput, context: z.RefinementCtx): void {
  const servers = Object.keys(mcp.servers);
  const sources = Object.keys(mcp.sources);
  const expect = (name: string, known: string[], path: (string | number)[], what: string): void => {
    if (!known.includes(name)) context.addIssue({ code: 'custom', path, message: `unknown ${what} "${name}"` });
  };
  for (const [name, source] of Object.entries(mcp.sources)) {
    if (source.type === 'mcp_resource' || source.type === 'mcp_prompt')
      expect(source.server, servers, ['sources', name, 'server'], 'MCP server');
  }
  mcp.policies.forEach((policy, index) => {
    policy.servers.forEach((server, at) => expect(server, servers, ['policies', index, 'servers', at], 'MCP server'));
    policy.opt_in_servers.forEach((server, at) => expect(server, servers, ['policies', index, 'opt_in_servers', at], 'MCP server'));
    policy.sources.forEach((source, at) => expect(source, sources, ['policies', index, 'sources', at], 'context source'));
  });
  for (const [name, server] of Object.entries(mcp.servers)) {
    const { allow, deny, auto_run: autoRun } = server.tools;
    if (allow === undefined || !Array.isArray(autoRun)) continue;
    autoRun.forEach((tool, at) => {
      if (!allow.includes(tool) || deny.includes(tool))
        context.addIssue({ code: 'custom', path: ['servers', name, 'tools', 'auto_run', at], message: `"${tool}" is not an allowed tool` });
    });
  }
}

export type McpConfig = z.output<typeof mcpSchema>;
export type McpServerConfig = McpConfig['servers'][string];
export type McpSourceConfig = McpConfig['sources'][string];
export type McpPolicyConfig = McpConfig['policies'][number];
export type ToolLoopConfig = McpConfig['tool_loop'];
