import type { ModelPrice } from '../config/observability-schema.ts';

/**
 * Bundled list prices in USD per million tokens, keyed `<provider type>/<model>`.
 * Standard (non-batch, non-priority) tier; the first price tier where a provider has
 * several by prompt length. Prices change: YAML `pricing.models` overrides any entry.
 *
 * Shaped like the router's model catalog (src/router/model-catalog.ts, issue 4) so the
 * two can become one module.
 */
export const PRICING_DATA_DATE = '2025-08-15';
export const PRICING_DATA_SOURCES = [
  'https://platform.openai.com/docs/pricing',
  'https://docs.anthropic.com/en/docs/about-claude/pricing',
  'https://ai.google.dev/gemini-api/docs/pricing',
  'https://mistral.ai/pricing',
  'https://api-docs.deepseek.com/quick_start/pricing',
] as const;

const price = (input: number, output: number, cachedInput?: number, cacheWrite?: number): ModelPrice => ({
  input_per_mtok: input,
  output_per_mtok: output,
  ...(cachedInput === undefined ? {} : { cached_input_per_mtok: cachedInput }),
  ...(cacheWrite === undefined ? {} : { cache_write_per_mtok: cacheWrite }),
});

export const PRICING_CATALOG: Readonly<Record<string, ModelPrice>> = {
  // OpenAI: cached input is the automatic prompt-cache read price; reasoning tokens bill as output.
  'openai/gpt-5': price(1.25, 10, 0.125),
  'openai/gpt-5-mini': price(0.25, 2, 0.025),
  'openai/gpt-5-nano': price(0.05, 0.4, 0.005),
  'openai/gpt-4.1': price(2, 8, 0.5),
  'openai/gpt-4.1-mini': price(0.4, 1.6, 0.1),
  'openai/gpt-4.1-nano': price(0.1, 0.4, 0.025),
  'openai/gpt-4o': price(2.5, 10, 1.25),
  'openai/gpt-4o-mini': price(0.15, 0.6, 0.075),
  'openai/o1': price(15, 60, 7.5),
  'openai/o3': price(2, 8, 0.5),
  'openai/o3-mini': price(1.1, 4.4, 0.55),
  'openai/o4-mini': price(1.1, 4.4, 0.275),
  'openai/gpt-4-turbo': price(10, 30),
  'openai/gpt-3.5-turbo': price(0.5, 1.5),
  'openai/text-embedding-3-small': price(0.02, 0),
  'openai/text-embedding-3-large': price(0.13, 0),
  'openai/text-embedding-ada-002': price(0.1, 0),
  // Anthropic: cache writes at 1.25× input (5-minute cache), cache reads at 0.1×.
  'anthropic/claude-opus-4-1': price(15, 75, 1.5, 18.75),
  'anthropic/claude-sonnet-4-5': price(3, 15, 0.3, 3.75),
  'anthropic/claude-haiku-4-5': price(1, 5, 0.1, 1.25),
  'anthropic/claude-opus-4-0': price(15, 75, 1.5, 18.75),
  'anthropic/claude-sonnet-4-0': price(3, 15, 0.3, 3.75),
  'anthropic/claude-3-7-sonnet-latest': price(3, 15, 0.3, 3.75),
  'anthropic/claude-3-5-haiku-latest': price(0.8, 4, 0.08, 1),
  'anthropic/claude-3-haiku-20240307': price(0.25, 1.25, 0.03, 0.3),
  // Google Gemini API (provider type google) (prompts up to 200k tokens for 2.5 Pro).
  'google/gemini-2.5-pro': price(1.25, 10, 0.31),
  'google/gemini-2.5-flash': price(0.3, 2.5, 0.075),
  'google/gemini-2.5-flash-lite': price(0.1, 0.4, 0.025),
  'google/gemini-2.0-flash': price(0.1, 0.4, 0.025),
  // Mistral
  'mistral/mistral-large-latest': price(2, 6),
  'mistral/mistral-medium-latest': price(0.4, 2),
  'mistral/mistral-small-latest': price(0.1, 0.3),
  // DeepSeek (standard hours; cache hits priced separately)
  'deepseek/deepseek-chat': price(0.27, 1.1, 0.07),
  'deepseek/deepseek-reasoner': price(0.55, 2.19, 0.14),
};
