import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/client';
import { canonicalJson } from './canonical-json.ts';

/** What a tool definition's pin covers: everything that tells a model what the tool does. */
export function toolDefinitionHash(tool: Tool): string {
  const pinned = {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema,
    annotations: tool.annotations,
  };
  return `sha256:${createHash('sha256').update(canonicalJson(pinned)).digest('hex')}`;
}

export type PinningMode = 'off' | 'trust_on_first_use' | 'strict';

export type PinVerdict =
  { readonly kind: 'approved' } | { readonly kind: 'quarantined'; readonly reason: string; readonly expected?: string };

/**
 * Rug-pull protection for one server: a tool is approved when its hash matches the
 * configured pin, or (trust on first use) the first hash this process saw for it. A
 * changed definition stays quarantined until the config pins the new hash.
 */
export class ToolPins {
  readonly #mode: PinningMode;
  readonly #configured: ReadonlyMap<string, string>;
  readonly #firstSeen = new Map<string, string>();

  constructor(mode: PinningMode, configured: Readonly<Record<string, string>>) {
    this.#mode = mode;
    this.#configured = new Map(Object.entries(configured));
  }

  check(tool: string, hash: string): PinVerdict {
    if (this.#mode === 'off') return { kind: 'approved' };
    const configured = this.#configured.get(tool);
    if (configured !== undefined) {
      return configured === hash
        ? { kind: 'approved' }
        : { kind: 'quarantined', reason: 'definition differs from its configured pin', expected: configured };
    }
    if (this.#mode === 'strict') return { kind: 'quarantined', reason: 'no pin configured (pinning: strict)' };
    const first = this.#firstSeen.get(tool);
    if (first === undefined) {
      this.#firstSeen.set(tool, hash);
      return { kind: 'approved' };
    }
    return first === hash
      ? { kind: 'approved' }
      : { kind: 'quarantined', reason: 'definition changed since it was first seen', expected: first };
  }
}
