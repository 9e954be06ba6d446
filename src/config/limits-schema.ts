import { z } from 'zod';

/** Config for gateway keys, rate limits, budgets, the admin key and the shared state backends. */

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/i;

export const limitSetSchema = z
  .strictObject({
    requests_per_minute: z.int().positive().optional(),
    tokens_per_minute: z.int().positive().optional().describe('Prompt tokens estimated before the call, reconciled with usage after.'),
    concurrent: z.int().positive().optional().describe('Requests in flight at once (a stream counts until it ends).'),
  })
  .describe('Limits for one key, team, user, model, or for the whole gateway.');

const fraction = z.number().gt(0).max(1);

export const budgetSchema = z.strictObject({
  usd: z.number().positive().describe('Spend allowed per period, in US dollars.'),
  period: z.enum(['day', 'week', 'month']).describe('Calendar periods in UTC; weeks start on Monday.'),
  thresholds: z.array(fraction).optional().describe('Fractions of usd that send an alert; default: budgets.thresholds.'),
  on_exceeded: z.enum(['block', 'alert']).optional().describe('Default: budgets.on_exceeded.'),
});

const budgetListSchema = z.array(budgetSchema).superRefine((budgets, context) => {
  const periods = new Set<string>();
  budgets.forEach((budget, index) => {
    if (periods.has(budget.period))
      context.addIssue({ code: 'custom', path: [index, 'period'], message: `a second ${budget.period} budget` });
    periods.add(budget.period);
  });
});

const mcpAccessSchema = z.strictObject({
  servers: z.array(z.string().min(1)).default(['*']).describe('MCP servers whose every tool the key may use; "*" for all.'),
  tools: z
    .record(z.string().min(1), z.array(z.string().min(1)))
    .default({})
    .describe('Per MCP server, the only tools the key may use there (the server is allowed for those).'),
});

/** What a key may do; shared by keys in YAML and keys made through the admin API. */
export const keyPolicyFields = {
  team: z.string().min(1).max(128).optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  models: z.array(z.string().min(1)).default(['*']).describe('Model names (globs) the key may call, as callers write them.'),
  mcp: mcpAccessSchema.default({ servers: ['*'], tools: {} }),
  limits: limitSetSchema.optional().describe('Default: limits.per_key.'),
  budgets: budgetListSchema.default([]),
};

export const keyNameSchema = z.string().regex(KEY_NAME, 'key names use letters, digits and _ . : @ - (at most 128)');

const configKeySchema = z
  .strictObject({
    name: keyNameSchema,
    key: z.string().min(16).optional().describe('The key itself; write ${ENV_VAR}, never the key, in the file.'),
    key_sha256: z.string().regex(SHA256_HEX, 'expected 64 hex digits').optional().describe('SHA-256 of the key, in hex.'),
    ...keyPolicyFields,
  })
  .refine((key) => (key.key === undefined) !== (key.key_sha256 === undefined), {
    message: 'give exactly one of key (from ${ENV_VAR}) or key_sha256',
  });

const teamSchema = z.strictObject({
  limits: limitSetSchema.optional().describe('Default: limits.per_team.'),
  budgets: budgetListSchema.default([]),
});

export const authSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Require a Lightport key on every /v1 request.'),
    keys: z.array(configKeySchema).default([]),
    teams: z.record(z.string().min(1).max(128), teamSchema).default({}),
    refresh_ms: z.int().positive().default(5000).describe('How often keys made through the admin API on other replicas are picked up.'),
  })
  .superRefine((auth, context) => {
    const seen = new Set<string>();
    auth.keys.forEach((key, index) => {
      if (seen.has(key.name))
        context.addIssue({ code: 'custom', path: ['keys', index, 'name'], message: `duplicate key name "${key.name}"` });
      seen.add(key.name);
    });
  });

export const limitsSchema = z.strictObject({
  backend: z.enum(['memory', 'redis']).default('memory').describe('memory: one process; redis: shared by replicas (state.redis).'),
  on_backend_error: z
    .enum(['open', 'closed'])
    .default('open')
    .describe('When Redis is unreachable: open = admit under local in-memory limits; closed = refuse with 503.'),
  headers: z
    .enum(['refused', 'all'])
    .default('refused')
    .describe(
      'Which answers carry the x-ratelimit-* headers: refused = 429s only; all = every answer to a limited request, as OpenAI sends them (about 5% more work per request).',
    ),
  global: limitSetSchema.optional(),
  per_key: limitSetSchema.optional(),
  per_team: limitSetSchema.optional(),
  per_user: limitSetSchema.optional().describe('Each user (the `user` field or x-lightport-user) separately.'),
  per_model: z.record(z.string().min(1), limitSetSchema).default({}).describe('Model names (globs) as callers write them.'),
});

const priceSchema = z.strictObject({
  input_per_million: z.number().nonnegative(),
  output_per_million: z.number().nonnegative(),
});

const webhookSchema = z.strictObject({
  url: z.url(),
  headers: z.record(z.string(), z.string()).default({}),
  secret: z.string().optional().describe('Signs each body: x-lightport-signature: sha256=<HMAC-SHA256 hex>. Empty: unsigned.'),
  timeout_ms: z.int().positive().default(5000),
  retries: z.int().min(0).max(10).default(4).describe('Further attempts after a failure, with exponential backoff.'),
});

export const budgetsSchema = z.strictObject({
  thresholds: z.array(fraction).default([0.5, 0.8, 1]),
  on_exceeded: z.enum(['block', 'alert']).default('block'),
  webhook: webhookSchema.optional(),
  prices: z
    .record(z.string().min(1), priceSchema)
    .default({})
    .describe('USD per million tokens by upstream model (globs); overrides the provisional built-in table.'),
});

const redisSchema = z.strictObject({
  url: z.string().default('redis://127.0.0.1:6379'),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : -')
    .default('lightport')
    .describe('Start of every key; also the Redis Cluster hash tag that keeps one decision on one shard.'),
  timeout_ms: z.int().positive().default(250).describe('A command slower than this counts as Redis being down.'),
});

const storeSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('sqlite'), path: z.string().min(1).default('lightport.db') }),
  z.strictObject({
    type: z.literal('postgres'),
    url: z.string().min(1),
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .default('public'),
  }),
]);

export const stateSchema = z.strictObject({
  redis: redisSchema.default(redisSchema.parse({})),
  store: storeSchema.default({ type: 'sqlite', path: 'lightport.db' }).describe('Keys made through the admin API and budget spend.'),
});

export type AuthConfig = z.output<typeof authSchema>;
export type ConfigKey = AuthConfig['keys'][number];
export type LimitSet = z.output<typeof limitSetSchema>;
export type BudgetConfig = z.output<typeof budgetSchema>;
export type LimitsConfig = z.output<typeof limitsSchema>;
export type BudgetsConfig = z.output<typeof budgetsSchema>;
export type WebhookConfig = z.output<typeof webhookSchema>;
export type StateConfig = z.output<typeof stateSchema>;
export type StoreConfig = StateConfig['store'];
export type RedisConfig = StateConfig['redis'];
