import bytes from 'bytes';
import { z } from 'zod';
import { authSchema, budgetsSchema, limitsSchema, stateSchema } from './limits-schema.ts';
import { cacheSchema } from './cache-schema.ts';
import { adminSchema, modelSchema, routerSchema } from './routing-schema.ts';
import { mcpSchema } from './mcp-schema.ts';
import { loggingSchema, metricsSchema, pricingSchema, requestLogSchema, tracingSchema } from './observability-schema.ts';
import { upstreamProviderSchemas } from './provider-schemas.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const byteSize = z
  .union([z.int().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'expected a size like 10mb')])
  .transform((value) => (typeof value === 'number' ? value : (bytes.parse(value) ?? 0)));

const milliseconds = z.int().positive();

const corsSchema = z.strictObject({
  origins: z.array(z.string()).default(['*']).describe('Allowed origins; "*" allows any.'),
  max_age_s: z.int().nonnegative().default(600),
});

const serverSchema = z.strictObject({
  port: z.int().min(0).max(65535).default(8787),
  host: z.string().default('127.0.0.1'),
  body_limit: byteSize.default(10 * 1024 * 1024).describe('Largest request body accepted, e.g. 10mb.'),
  request_timeout_ms: milliseconds.default(600_000).describe('Deadline for a whole request, upstream time included.'),
  shutdown_grace_ms: milliseconds.default(10_000).describe('How long SIGTERM waits for in-flight requests.'),
  cors: z.union([z.literal(false), corsSchema]).default(false),
  watch_config: z.boolean().default(true).describe('Apply valid changes to the config file without a restart.'),
});

const mockErrorSchema = z.strictObject({
  rate: z.number().min(0).max(1).describe('Fraction of requests that fail this way.'),
  kind: z.enum(['status', 'reset', 'hang']).default('status'),
  status: z.int().min(400).max(599).default(500),
  message: z.string().default('Injected failure from the mock provider.'),
});

const mockToolCallSchema = z.strictObject({
  name: z.string().describe('Function to call; "*" calls the first tool the request offers.'),
  arguments: z.record(z.string(), z.unknown()).default({}),
  round: z
    .int()
    .nonnegative()
    .default(0)
    .describe('Which turn makes this call: 0 answers the user, 1 answers the first tool results, and so on.'),
});

export const mockProviderSchema = z.strictObject({
  type: z.literal('mock'),
  response: z
    .union([z.literal('echo'), z.strictObject({ text: z.string() })])
    .default('echo')
    .describe('"echo" repeats the last user message; {text} always answers that text.'),
  first_token_ms: z.int().nonnegative().default(0),
  chunk_ms: z.int().nonnegative().default(0),
  chunk_words: z.int().positive().default(1).describe('Words per streamed chunk.'),
  usage: z
    .strictObject({ prompt_tokens: z.int().nonnegative(), completion_tokens: z.int().nonnegative() })
    .optional()
    .describe('Fixed usage; by default it is estimated from the text.'),
  errors: z.array(mockErrorSchema).default([]),
  tool_calls: z
    .array(mockToolCallSchema)
    .default([])
    .describe('Called when the request offers tools; each call on its round (by default the first turn only).'),
  embedding_dimensions: z.int().positive().max(4096).default(16),
});

const providerSchema = z.discriminatedUnion('type', [...upstreamProviderSchemas, mockProviderSchema]);

const passthroughSchema = z.strictObject({
  enabled: z.boolean().default(true).describe("Allow x-lightport-provider with the caller's own key."),
  allowed_hosts: z.array(z.string()).default([]).describe('Hosts (host or host:port) that x-lightport-base-url may point at.'),
  allow_private_networks: z.boolean().default(false).describe('Let allowed hosts resolve to private, loopback or link-local addresses.'),
});

const responsesSchema = z.strictObject({
  store: z
    .enum(['memory', 'sqlite'])
    .default('memory')
    .describe('Where responses the gateway writes over chat are kept, for previous_response_id, GET and input_items.'),
  sqlite_path: z.string().default('lightport-responses.db').describe('The SQLite file, with store: sqlite.'),
  max_entries: z.int().positive().default(10_000).describe('Responses kept in memory, with store: memory; the oldest go first.'),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  server: serverSchema.default(serverSchema.parse({})),
  logging: loggingSchema.default(loggingSchema.parse({})),
  providers: z.record(z.string().regex(NAME, 'provider names use letters, digits, _ . -'), providerSchema).default({}),
  models: z.record(z.string().min(1), modelSchema).default({}),
  passthrough: passthroughSchema.default(passthroughSchema.parse({})),
  responses: responsesSchema.default(responsesSchema.parse({})),
  router: routerSchema.default(routerSchema.parse({})),
  metrics: metricsSchema.default(metricsSchema.parse({})),
  request_log: requestLogSchema.optional().describe('The request-log store; absent: off.'),
  pricing: pricingSchema.default(pricingSchema.parse({})),
  tracing: tracingSchema.optional().describe('OpenTelemetry traces over OTLP/HTTP; absent: no spans at all.'),
  admin: adminSchema.default({}),
  auth: authSchema.default(authSchema.parse({})),
  limits: limitsSchema.default(limitsSchema.parse({})),
  budgets: budgetsSchema.default(budgetsSchema.parse({})),
  state: stateSchema.default(stateSchema.parse({})),
  mcp: mcpSchema.default(mcpSchema.parse({})).describe('MCP servers, context sources, policies and the server-side tool loop.'),
  cache: cacheSchema.default(cacheSchema.parse({})).describe('Exact and semantic response cache.'),
});

export type Config = z.output<typeof configSchema>;
export type ProviderConfig = Config['providers'][string];
export type MockProviderConfig = z.output<typeof mockProviderSchema>;
export type ModelConfig = Config['models'][string];
export type ServerConfig = Config['server'];
export type ResponsesConfig = Config['responses'];
export type RouterConfig = Config['router'];
