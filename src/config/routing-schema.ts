import { z } from 'zod';
import { CAPABILITIES, TIERS } from '../router/model-catalog.ts';
import { checkRule } from '../router/rules/rule-compiler.ts';

const milliseconds = z.int().positive();
const httpStatus = z.int().min(400).max(599);

const retryFields = {
  attempts: z.int().min(1).max(10).describe('Attempts on one target before moving on (1 = no retry).'),
  backoff_ms: z.int().nonnegative().describe('First retry delay; doubles each retry, with full jitter.'),
  max_backoff_ms: z.int().nonnegative().describe('Cap on one retry delay.'),
  retry_after_max_ms: z
    .int()
    .nonnegative()
    .describe('Longest upstream Retry-After honoured; a longer one moves to the next target instead of waiting.'),
};

export const retrySchema = z.strictObject({
  attempts: retryFields.attempts.default(1),
  backoff_ms: retryFields.backoff_ms.default(200),
  max_backoff_ms: retryFields.max_backoff_ms.default(5_000),
  retry_after_max_ms: retryFields.retry_after_max_ms.default(10_000),
});

const retryOverride = z.strictObject({
  attempts: retryFields.attempts.optional(),
  backoff_ms: retryFields.backoff_ms.optional(),
  max_backoff_ms: retryFields.max_backoff_ms.optional(),
  retry_after_max_ms: retryFields.retry_after_max_ms.optional(),
});

const attemptTimeoutFields = {
  first_byte_ms: milliseconds.optional().describe("Until the upstream's response starts; default: the provider's timeout_ms."),
  idle_ms: milliseconds.optional().describe("Longest silence inside a streaming answer; default: the provider's timeout_ms."),
  total_ms: milliseconds.optional().describe('One attempt, start to end.'),
};

const attemptTimeouts = z.strictObject(attemptTimeoutFields);

const catalogFields = {
  price: z
    .strictObject({
      input_per_mtok: z.number().nonnegative(),
      output_per_mtok: z.number().nonnegative(),
      cached_input_per_mtok: z.number().nonnegative().optional(),
    })
    .optional()
    .describe('USD per million tokens; overrides the bundled catalog.'),
  context_window: z.int().positive().optional().describe('Tokens; overrides the bundled catalog.'),
  capabilities: z.array(z.enum(CAPABILITIES)).optional(),
  tier: z.enum(TIERS).optional(),
  tags: z.array(z.string()).optional(),
};

/** The parts of a concrete target (one provider, one upstream model). */
const leafFields = {
  provider: z.string().describe('A name under providers.'),
  model: z.string().describe('The model name the provider knows.'),
  retry: retryOverride.optional(),
  timeouts: attemptTimeouts.optional(),
  ...catalogFields,
};

const RULE_NAME = /^[A-Za-z0-9_.-]+$/;

const ruleSource = z.string().superRefine((source, context) => {
  const problem = checkRule(source);
  if (problem) context.addIssue({ code: 'custom', message: `invalid rule at column ${problem.column}: ${problem.message}` });
});

/** A strategy's target: a model name (or `<provider>/<model>`), or an object with one or the other. */
const targetEntry = z.union([
  z.string().min(1),
  z
    .strictObject({
      target: z.string().min(1).optional().describe('A name under models, or <provider>/<model>.'),
      provider: leafFields.provider.optional(),
      model: leafFields.model.optional(),
      weight: z.number().positive().optional().describe('Load-balancing weight (default 1).'),
      retry: leafFields.retry,
      timeouts: leafFields.timeouts,
      ...catalogFields,
    })
    .superRefine((entry, context) => {
      const inline = entry.provider !== undefined || entry.model !== undefined;
      const { target, provider: _provider, model: _model, weight: _weight, ...settings } = entry;
      if (target !== undefined && inline)
        context.addIssue({ code: 'custom', message: 'give either target or provider and model, not both' });
      else if (target === undefined && (entry.provider === undefined || entry.model === undefined))
        context.addIssue({ code: 'custom', message: 'give target, or both provider and model' });
      else if (target !== undefined && Object.values(settings).some((value) => value !== undefined))
        context.addIssue({
          code: 'custom',
          message: `${Object.keys(settings).join(', ')} go with provider and model, or on the model named by target`,
        });
    }),
]);

const strategyFields = {
  description: z.string().optional(),
  deadline_ms: milliseconds.optional().describe('Deadline shared by every attempt of a request to this model.'),
};

const singleModel = z.strictObject({ strategy: z.literal('single').optional(), ...leafFields, ...strategyFields });

const fallbackModel = z.strictObject({
  strategy: z.literal('fallback'),
  targets: z.array(targetEntry).min(1),
  on_status: z
    .array(httpStatus)
    .default([])
    .describe('More statuses that move to the next target (besides 429, 5xx, timeouts, connection errors).'),
  ...strategyFields,
});

const loadbalanceModel = z.strictObject({
  strategy: z.literal('loadbalance'),
  method: z.enum(['weighted', 'round_robin', 'least_inflight', 'least_latency']).default('weighted'),
  sticky: z
    .strictObject({
      by: z.enum(['user', 'header']).describe('"user": the request\'s user field (or x-lightport-user); "header": the header below.'),
      header: z.string().optional(),
    })
    .optional()
    .describe('Keeps one caller on one target while it is healthy.'),
  targets: z.array(targetEntry).min(1),
  ...strategyFields,
});

const costModel = z.strictObject({
  strategy: z.literal('cost'),
  targets: z.array(targetEntry).min(1),
  max_p95_latency_ms: milliseconds.optional().describe('Skip targets whose observed p95 latency is above this.'),
  min_tier: z.enum(TIERS).optional(),
  tags: z.array(z.string()).default([]).describe('Tags a target must all carry.'),
  assumed_output_tokens: z.int().positive().default(500).describe('Output size assumed when the request sets no max_tokens.'),
  ...strategyFields,
});

const conditionalModel = z.strictObject({
  strategy: z.literal('conditional'),
  rules: z
    .array(
      z.strictObject({
        name: z
          .string()
          .regex(RULE_NAME, 'rule names use letters, digits, _ . -')
          .optional()
          .describe('Names the rule, so MCP policies can attach context to the requests it routes.'),
        when: ruleSource.describe('A JavaScript expression over request, caller and time.'),
        target: targetEntry,
      }),
    )
    .min(1),
  default: targetEntry.optional().describe('Used when no rule matches; without it such a request is refused.'),
  ...strategyFields,
});

export const modelSchema = z.discriminatedUnion('strategy', [singleModel, fallbackModel, loadbalanceModel, costModel, conditionalModel]);

const circuitSchema = z.strictObject({
  enabled: z.boolean().default(true),
  failures: z.int().positive().default(5).describe('Consecutive failures that open the circuit.'),
  error_rate: z.number().min(0).max(1).default(0.5).describe('Failure share over the window that opens the circuit...'),
  min_requests: z.int().positive().default(20).describe('...once the window holds at least this many attempts.'),
  window_ms: milliseconds.default(60_000),
  open_ms: milliseconds.default(30_000).describe('How long an open circuit skips its target before a half-open probe.'),
  probe_interval_ms: milliseconds.optional().describe('Actively probe open targets at this interval (a 1-token request).'),
});

const redisSchema = z.strictObject({
  url: z.string().describe('redis://host:port/db; replicas share circuit state through it.'),
  key_prefix: z.string().default('lightport:'),
});

export const routerSchema = z.strictObject({
  retry: retrySchema.default(retrySchema.parse({})),
  timeouts: z
    .strictObject({
      connect_ms: milliseconds.default(10_000).describe('TCP and TLS connect; per provider with connect_timeout_ms.'),
      ...attemptTimeoutFields,
    })
    .default({ connect_ms: 10_000 }),
  fallback_on: z.array(httpStatus).default([]).describe('More statuses that count as failures everywhere.'),
  circuit: circuitSchema.default(circuitSchema.parse({})),
  redis: redisSchema.optional(),
});

export const adminSchema = z.strictObject({
  key: z.string().min(16).optional().describe('Bearer key for /admin/...; without it the admin API is off. Use ${ENV_VAR}.'),
});
