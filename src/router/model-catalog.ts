/**
 * Facts about well-known models, for routing (the cost strategy, context-length fallback)
 * and for cost accounting: prices in USD per million tokens, context window, capabilities,
 * a quality tier and tags. Keyed by `<provider type>/<model>`. A model's entry in the YAML
 * (`price`, `context_window`, `capabilities`, `tier`, `tags`) overrides these.
 */

export const CAPABILITIES = ['tools', 'vision', 'json_schema', 'streaming', 'reasoning', 'embeddings'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Quality tiers, lowest first; `min_tier` admits its tier and those after it. */
export const TIERS = ['basic', 'standard', 'frontier'] as const;
export type Tier = (typeof TIERS)[number];

export interface ModelFacts {
  readonly input_per_mtok: number;
  readonly output_per_mtok: number;
  readonly cached_input_per_mtok?: number;
  readonly context_window: number;
  readonly capabilities: readonly Capability[];
  readonly tier: Tier;
  readonly tags: readonly string[];
}

/** Where the figures come from and when they were read; check before relying on them. */
export const MODEL_CATALOG_SOURCE = {
  date: '2025-08-15',
  sources: [
    'https://platform.openai.com/docs/pricing',
    'https://www.anthropic.com/pricing#api',
    'https://ai.google.dev/gemini-api/docs/pricing',
    'https://mistral.ai/pricing#api-pricing',
    'https://api-docs.deepseek.com/quick_start/pricing',
  ],
} as const;

const CHAT: readonly Capability[] = ['tools', 'json_schema', 'streaming'];
const CHAT_VISION: readonly Capability[] = [...CHAT, 'vision'];
const REASONING: readonly Capability[] = [...CHAT_VISION, 'reasoning'];

function facts(
  prices: [input: number, output: number, cachedInput?: number],
  context_window: number,
  capabilities: readonly Capability[],
  tier: Tier,
  tags: readonly string[] = [],
): ModelFacts {
  const [input_per_mtok, output_per_mtok, cached_input_per_mtok] = prices;
  return {
    input_per_mtok,
    output_per_mtok,
    ...(cached_input_per_mtok === undefined ? {} : { cached_input_per_mtok }),
    context_window,
    capabilities,
    tier,
    tags,
  };
}

export const MODEL_CATALOG: Readonly<Record<string, ModelFacts>> = {
  'openai/gpt-5': facts([1.25, 10, 0.125], 400_000, REASONING, 'frontier'),
  'openai/gpt-5-mini': facts([0.25, 2, 0.025], 400_000, REASONING, 'standard'),
  'openai/gpt-5-nano': facts([0.05, 0.4, 0.005], 400_000, REASONING, 'basic', ['fast']),
  'openai/gpt-4.1': facts([2, 8, 0.5], 1_047_576, CHAT_VISION, 'frontier', ['long-context']),
  'openai/gpt-4.1-mini': facts([0.4, 1.6, 0.1], 1_047_576, CHAT_VISION, 'standard', ['long-context']),
  'openai/gpt-4.1-nano': facts([0.1, 0.4, 0.025], 1_047_576, CHAT_VISION, 'basic', ['fast', 'long-context']),
  'openai/gpt-4o': facts([2.5, 10, 1.25], 128_000, CHAT_VISION, 'frontier'),
  'openai/gpt-4o-mini': facts([0.15, 0.6, 0.075], 128_000, CHAT_VISION, 'standard', ['fast']),
  'openai/o3': facts([2, 8, 0.5], 200_000, REASONING, 'frontier'),
  'openai/o4-mini': facts([1.1, 4.4, 0.275], 200_000, REASONING, 'standard'),
  'openai/o3-mini': facts([1.1, 4.4, 0.55], 200_000, [...CHAT, 'reasoning'], 'standard'),
  'openai/text-embedding-3-small': facts([0.02, 0], 8_191, ['embeddings'], 'basic'),
  'openai/text-embedding-3-large': facts([0.13, 0], 8_191, ['embeddings'], 'standard'),
  'anthropic/claude-opus-4-1': facts([15, 75, 1.5], 200_000, REASONING, 'frontier'),
  'anthropic/claude-opus-4-0': facts([15, 75, 1.5], 200_000, REASONING, 'frontier'),
  'anthropic/claude-sonnet-4-0': facts([3, 15, 0.3], 200_000, REASONING, 'frontier'),
  'anthropic/claude-3-7-sonnet-latest': facts([3, 15, 0.3], 200_000, REASONING, 'frontier'),
  'anthropic/claude-3-5-haiku-latest': facts([0.8, 4, 0.08], 200_000, CHAT_VISION, 'standard', ['fast']),
  'google/gemini-2.5-pro': facts([1.25, 10, 0.31], 1_048_576, REASONING, 'frontier', ['long-context']),
  'google/gemini-2.5-flash': facts([0.3, 2.5, 0.075], 1_048_576, REASONING, 'standard', ['fast', 'long-context']),
  'google/gemini-2.5-flash-lite': facts([0.1, 0.4, 0.025], 1_048_576, CHAT_VISION, 'basic', ['fast', 'long-context']),
  'google/gemini-2.0-flash': facts([0.1, 0.4, 0.025], 1_048_576, CHAT_VISION, 'basic', ['fast', 'long-context']),
  'mistral/mistral-large-latest': facts([2, 6], 128_000, CHAT, 'frontier'),
  'mistral/mistral-medium-latest': facts([0.4, 2], 128_000, CHAT_VISION, 'standard'),
  'mistral/mistral-small-latest': facts([0.1, 0.3], 128_000, CHAT_VISION, 'basic', ['fast']),
  'deepseek/deepseek-chat': facts([0.27, 1.1, 0.07], 64_000, CHAT, 'standard'),
  'deepseek/deepseek-reasoner': facts([0.55, 2.19, 0.14], 64_000, ['json_schema', 'streaming', 'reasoning'], 'frontier'),
};

const DATED_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;
const byModelName = new Map<string, ModelFacts>();
for (const [key, entry] of Object.entries(MODEL_CATALOG)) byModelName.set(key.slice(key.indexOf('/') + 1), entry);

/**
 * The catalog entry for a model: by provider type and name, then (for OpenAI-compatible
 * gateways and dated snapshots like gpt-4o-mini-2024-07-18) by model name alone.
 */
export function lookupModel(providerType: string, model: string): ModelFacts | undefined {
  const undated = model.replace(DATED_SUFFIX, '');
  return (
    MODEL_CATALOG[`${providerType}/${model}`] ??
    MODEL_CATALOG[`${providerType}/${undated}`] ??
    byModelName.get(model) ??
    byModelName.get(undated) ??
    byModelName.get(model.slice(model.lastIndexOf('/') + 1))
  );
}
