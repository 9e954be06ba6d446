import { describe, expect, it } from 'vitest';
import { anthropicUsage } from '../providers/anthropic/response.ts';
import { costOf, formatUsd, Pricing } from './pricing.ts';
import { PRICING_CATALOG } from './pricing-catalog.ts';

describe('costOf', () => {
  const price = { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3, cache_write_per_mtok: 3.75, reasoning_per_mtok: 20 };

  it('prices plain, cached and cache-write input, and plain and reasoning output, each at its rate', () => {
    const usage = {
      prompt_tokens: 1000,
      completion_tokens: 500,
      total_tokens: 1500,
      cached_tokens: 200,
      cache_write_tokens: 100,
      reasoning_tokens: 50,
    };
    expect(costOf(usage, price)).toBeCloseTo((700 * 3 + 200 * 0.3 + 100 * 3.75 + 450 * 15 + 50 * 20) / 1e6, 15);
  });

  it('falls back to the input and output rates when a price has no special rates', () => {
    const usage = { prompt_tokens: 1000, completion_tokens: 10, total_tokens: 1010, cached_tokens: 400, reasoning_tokens: 5 };
    expect(costOf(usage, { input_per_mtok: 2, output_per_mtok: 8 })).toBeCloseTo((1000 * 2 + 10 * 8) / 1e6, 15);
  });
});

describe('cost of an Anthropic answer with prompt caching', () => {
  it('prices cache reads and cache writes at their own catalog rates', () => {
    const usage = anthropicUsage({ input_tokens: 10, cache_read_input_tokens: 2000, cache_creation_input_tokens: 300, output_tokens: 50 });
    expect(usage).toMatchObject({ prompt_tokens: 2310, cached_tokens: 2000, cache_write_tokens: 300, completion_tokens: 50 });
    const price = PRICING_CATALOG['anthropic/claude-sonnet-4-0'];
    if (usage === undefined || price === undefined) throw new Error('missing usage or price');
    expect(costOf(usage, price)).toBeCloseTo((10 * 3 + 2000 * 0.3 + 300 * 3.75 + 50 * 15) / 1e6, 15);
  });
});

describe('Pricing', () => {
  it('uses the bundled catalog by provider type, dated model names included', () => {
    const pricing = new Pricing({ models: {} });
    expect(pricing.lookup('my-openai', 'openai', 'gpt-4o-mini')).toEqual(PRICING_CATALOG['openai/gpt-4o-mini']);
    expect(pricing.lookup('my-openai', 'openai', 'gpt-4o-mini-2024-07-18')).toEqual(PRICING_CATALOG['openai/gpt-4o-mini']);
    expect(pricing.lookup('local', 'openai-compatible', 'llama3.2')).toBeUndefined();
  });

  it('lets YAML override by provider name, then name/*, then type, before the catalog', () => {
    const pricing = new Pricing({
      models: {
        'my-openai/gpt-4o': { input_per_mtok: 1, output_per_mtok: 1 },
        'my-openai/*': { input_per_mtok: 2, output_per_mtok: 2 },
        'openai/gpt-4o-mini': { input_per_mtok: 3, output_per_mtok: 3 },
      },
    });
    expect(pricing.lookup('my-openai', 'openai', 'gpt-4o')?.input_per_mtok).toBe(1);
    expect(pricing.lookup('my-openai', 'openai', 'gpt-4.1')?.input_per_mtok).toBe(2);
    expect(pricing.lookup('other', 'openai', 'gpt-4o-mini')?.input_per_mtok).toBe(3);
    expect(pricing.lookup('other', 'openai', 'gpt-4.1')).toEqual(PRICING_CATALOG['openai/gpt-4.1']);
  });
});

describe('formatUsd', () => {
  it('writes plain decimals, never exponents', () => {
    expect(formatUsd(0.000000123)).toBe('0.000000123');
    expect(formatUsd(1.5)).toBe('1.5');
    expect(formatUsd(12)).toBe('12');
    expect(formatUsd(0)).toBe('0');
  });
});
