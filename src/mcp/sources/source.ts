import type { Loaded } from '../cache.ts';
import type { RequestVariables } from '../templates.ts';

export type Placement = 'system' | 'context';

/** How a source answers one request: text at hand, a cacheable fetch, or a reason to skip it. */
export type SourceResolution =
  | { readonly kind: 'static'; readonly text: string }
  | { readonly kind: 'fetch'; readonly key: string; readonly fetch: (signal: AbortSignal) => Promise<Loaded<string>> }
  | { readonly kind: 'skip'; readonly reason: string };

/** A context source: MCP resource or prompt, REST endpoint, or local file. */
export interface ContextSource {
  readonly name: string;
  readonly type: 'mcp_resource' | 'mcp_prompt' | 'rest' | 'file';
  readonly placement: Placement;
  /** The MCP server it reads from, for MCP sources. */
  readonly server?: string;
  /** The budget in characters (estimated tokens × 4). */
  readonly maxChars: number;
  resolve(variables: RequestVariables): SourceResolution;
  close?(): void;
}

/** Roughly four characters a token: the estimate budgets are measured in. */
export const CHARS_PER_TOKEN = 4;

/** The descriptive fields every source shares, from its config. */
export function sourceBase<T extends ContextSource['type']>(
  name: string,
  type: T,
  config: { readonly inject?: Placement | undefined; readonly max_tokens: number },
  placement: Placement,
): { name: string; type: T; placement: Placement; maxChars: number } {
  return { name, type, placement: config.inject ?? placement, maxChars: config.max_tokens * CHARS_PER_TOKEN };
}
