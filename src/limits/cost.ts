import type { BudgetsConfig } from '../config/limits-schema.ts';
import type { TokenUsage } from '../providers/types.ts';
import { firstMatch } from './glob.ts';

/**
 * USD for one response. The observability stage's pricing catalog provides the real one
 * (injected into the limits stage); until then, token prices from config and a provisional table.
 */
export type CostOf = (usage: TokenUsage, model: string) => number | undefined;

interface TokenPrice {
  readonly input_per_million: number;
  readonly output_per_million: number;
}

/**
 * PROVISIONAL: a few list prices (USD per million tokens, OpenAI, 2025) so budgets count
 * something before the pricing catalog lands. Replace with the catalog's costOf; do not extend.
 */
const PROVISIONAL_PRICES: ReadonlyArray<readonly [string, TokenPrice]> = [
  ['gpt-4o-mini*', { input_per_million: 0.15, output_per_million: 0.6 }],
  ['gpt-4o*', { input_per_million: 2.5, output_per_million: 10 }],
  ['gpt-4.1-nano*', { input_per_million: 0.1, output_per_million: 0.4 }],
  ['gpt-4.1-mini*', { input_per_million: 0.4, output_per_million: 1.6 }],
  ['gpt-4.1*', { input_per_million: 2, output_per_million: 8 }],
  ['o4-mini*', { input_per_million: 1.1, output_per_million: 4.4 }],
  ['text-embedding-3-small', { input_per_million: 0.02, output_per_million: 0 }],
  ['text-embedding-3-large', { input_per_million: 0.13, output_per_million: 0 }],
];

export function tokenPriceCost(prices: BudgetsConfig['prices']): CostOf {
  const configured = firstMatch(Object.entries(prices));
  const provisional = firstMatch(PROVISIONAL_PRICES);
  return (usage, model) => {
    const price = configured(model) ?? provisional(model);
    if (price === undefined) return undefined;
    return (usage.prompt_tokens * price.input_per_million + usage.completion_tokens * price.output_per_million) / 1e6;
  };
}
