import bytes from 'bytes';
import { z } from 'zod';

const byteSize = z
  .union([z.int().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'expected a size like 64mb')])
  .transform((value) => (typeof value === 'number' ? value : (bytes.parse(value) ?? 0)));

export const GUARDS = ['numbers', 'negation', 'entities', 'content_words'] as const;

const policyFields = {
  enabled: z.boolean().describe('Cache answers for this model.'),
  mode: z.enum(['exact', 'semantic']).describe('exact: identical requests only; semantic: also near-duplicates above the threshold.'),
  ttl_s: z.int().positive().describe('How long an answer stays cached (seconds).'),
  threshold: z.number().min(0).max(1).describe('Semantic: least cosine similarity for a hit.'),
  namespace: z.string().regex(/^[\w.-]+$/, 'namespaces use letters, digits, _ . -'),
  per_key: z.boolean().describe("Add a hash of the caller's key to the namespace so tenants never share entries."),
  sampled: z.boolean().describe('Also cache requests with temperature > 0 (or no temperature, which means the provider default).'),
  embed: z
    .enum(['last_user', 'conversation'])
    .describe(
      'Semantic: embed the last user message (every other message must match exactly) or the whole conversation (system messages must match).',
    ),
  embedding_model: z
    .string()
    .min(1)
    .describe(
      'Semantic: a configured model (or <provider>/<model>) whose embeddings compare questions; default: the built-in local embedder.',
    ),
  guards: z
    .array(z.enum(GUARDS))
    .describe('Semantic: what must match exactly between the question and the cached one, whatever the similarity.'),
};

const policySchema = z.strictObject({
  enabled: policyFields.enabled.default(true),
  mode: policyFields.mode.default('exact'),
  ttl_s: policyFields.ttl_s.default(3600),
  threshold: policyFields.threshold.default(0.8),
  namespace: policyFields.namespace.default('default'),
  per_key: policyFields.per_key.default(true),
  sampled: policyFields.sampled.default(false),
  embed: policyFields.embed.default('last_user'),
  embedding_model: policyFields.embedding_model.optional(),
  guards: policyFields.guards.default([...GUARDS]),
});

const policyOverrideSchema = z.strictObject({
  enabled: policyFields.enabled.optional(),
  mode: policyFields.mode.optional(),
  ttl_s: policyFields.ttl_s.optional(),
  threshold: policyFields.threshold.optional(),
  namespace: policyFields.namespace.optional(),
  per_key: policyFields.per_key.optional(),
  sampled: policyFields.sampled.optional(),
  embed: policyFields.embed.optional(),
  embedding_model: policyFields.embedding_model.optional(),
  guards: policyFields.guards.optional(),
});

const redisSchema = z.strictObject({
  url: z.string().describe('redis:// URL of the shared L2 cache.'),
  key_prefix: z.string().default('lightport:').describe('Prefix of every key and channel this gateway uses.'),
});

export const cacheSchema = z.strictObject({
  enabled: z.boolean().default(false).describe('Turn the response cache on.'),
  memory_max_bytes: byteSize.default(64 * 1024 * 1024).describe('Size of the in-process LRU (L1).'),
  max_entry_bytes: byteSize.default(1024 * 1024).describe('Answers larger than this are not cached.'),
  redis: redisSchema.optional().describe('Shared L2 cache and semantic index announcements between replicas.'),
  store_path: z.string().optional().describe('SQLite file where the semantic index is persisted across restarts.'),
  coalesce: z
    .boolean()
    .default(true)
    .describe(
      'A cacheable miss whose identical request is already in flight upstream in this process waits for its answer instead of calling the upstream again.',
    ),
  defaults: policySchema.default(policySchema.parse({})),
  models: z.record(z.string().min(1), policyOverrideSchema).default({}).describe('Per model overrides of the defaults.'),
});

export type CacheConfig = z.output<typeof cacheSchema>;
export type CachePolicyConfig = z.output<typeof policySchema>;
export type CacheGuard = (typeof GUARDS)[number];
