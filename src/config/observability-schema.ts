import bytes from 'bytes';
import { z } from 'zod';

/** Config sections of the observe stage: logs, metrics, the request-log store, pricing, traces. */

const byteSize = z
  .union([z.int().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'expected a size like 32kb')])
  .transform((value) => (typeof value === 'number' ? value : (bytes.parse(value) ?? 0)));

const redactSchema = z.strictObject({
  fields: z
    .array(z.string().min(1))
    .default(['api_key', 'apiKey', 'authorization', 'password'])
    .describe('JSON keys whose values are replaced by "[redacted]" in logged and stored bodies, at any depth.'),
  patterns: z
    .array(
      z.string().refine((source) => {
        try {
          return new RegExp(source, 'g').source.length > 0;
        } catch {
          return false;
        }
      }, 'not a valid regular expression'),
    )
    .default([])
    .describe('Regular expressions replaced by "[redacted]" in logged and stored bodies (keys like sk-... always are).'),
});

export const loggingSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  access_log: z.boolean().default(true).describe('One JSON line per request at level info.'),
  bodies: z
    .enum(['off', 'errors', 'sample', 'all'])
    .default('off')
    .describe('Which request and response bodies are logged and stored: none, failed requests only, a sample plus every error, or all.'),
  sample_rate: z.number().min(0).max(1).default(0.1).describe('Fraction of requests whose bodies are kept when bodies is "sample".'),
  max_body_bytes: byteSize.default(32 * 1024).describe('Longer bodies are cut to this size in logs and the store.'),
  redact: redactSchema.default(redactSchema.parse({})),
});

export const metricsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  path: z.string().startsWith('/').default('/metrics'),
  port: z.int().min(0).max(65535).optional().describe('Serve metrics on this port only, instead of on the main port.'),
  host: z.string().optional().describe('Listen address for metrics.port; defaults to server.host.'),
  labels: z
    .strictObject({
      key: z.boolean().default(false).describe('Add the gateway key name as a label.'),
      user: z.boolean().default(false).describe('Add the user (the request\'s "user" field) as a label.'),
    })
    .default({ key: false, user: false }),
  max_label_values: z.int().positive().default(200).describe('Distinct values kept per label; the rest are counted as "other".'),
  process_metrics: z.boolean().default(true).describe('Node.js process metrics (CPU, memory, event loop lag).'),
});

const schemaName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case SQL identifier');

export const requestLogSchema = z.strictObject({
  enabled: z.boolean().default(true),
  backend: z.enum(['sqlite', 'postgres']).optional().describe('Default: postgres when postgres_url (or DATABASE_URL) is set, else sqlite.'),
  sqlite_path: z.string().min(1).default('lightport-requests.db'),
  postgres_url: z.string().optional().describe('Default: the DATABASE_URL environment variable.'),
  postgres_schema: schemaName.default('public'),
  retention_days: z.number().positive().default(30),
  queue_size: z.int().positive().default(10_000).describe('Records waiting to be written; beyond it records are dropped and counted.'),
  batch_size: z
    .int()
    .positive()
    .max(2000)
    .default(1000)
    .describe(
      'Records per insert transaction; larger batches rewrite fewer pages per record (at most 2000: PostgreSQL takes 65535 parameters).',
    ),
  flush_ms: z.int().positive().default(1000),
});

export const modelPriceSchema = z.strictObject({
  input_per_mtok: z.number().nonnegative().describe('USD per million input tokens.'),
  output_per_mtok: z.number().nonnegative().describe('USD per million output tokens.'),
  cached_input_per_mtok: z.number().nonnegative().optional().describe('Cache reads; default: the input price.'),
  cache_write_per_mtok: z.number().nonnegative().optional().describe('Cache writes; default: the input price.'),
  reasoning_per_mtok: z.number().nonnegative().optional().describe('Reasoning tokens, when billed apart from output.'),
});

export const pricingSchema = z.strictObject({
  models: z
    .record(z.string().regex(/^[^/]+\/.+$/, 'expected "<provider or type>/<model>" (model may be *)'), modelPriceSchema)
    .default({})
    .describe('Prices that replace or add to the bundled catalog, keyed "<provider name or type>/<model>".'),
});

export const tracingSchema = z.strictObject({
  endpoint: z.url().describe('OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces.'),
  headers: z.record(z.string(), z.string()).default({}),
  service_name: z.string().default('lightport'),
  sample_ratio: z
    .number()
    .min(0)
    .max(1)
    .default(1)
    .describe("Fraction of traces started here; a caller's sampled traceparent is followed."),
  export_delay_ms: z.int().positive().default(2000),
});

export type LoggingConfig = z.output<typeof loggingSchema>;
export type MetricsConfig = z.output<typeof metricsSchema>;
export type RequestLogConfig = z.output<typeof requestLogSchema>;
export type ModelPrice = z.output<typeof modelPriceSchema>;
export type PricingConfig = z.output<typeof pricingSchema>;
export type TracingConfig = z.output<typeof tracingSchema>;
