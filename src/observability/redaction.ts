import type { LoggingConfig } from '../config/observability-schema.ts';

const REDACTED = '[redacted]';

/** Key-shaped strings redacted in every logged body, whatever the config says. */
const BUILT_IN_PATTERNS = [/\bsk-[A-Za-z0-9_-]{16,}/, /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/i];

/**
 * Removes secrets from bodies before they are logged or stored: values of the configured
 * field names at any depth, matches of the configured patterns, key-shaped strings, and
 * every secret the config itself holds (provider keys, the admin key...).
 */
export class Redactor {
  readonly #fields: ReadonlySet<string>;
  readonly #pattern: RegExp;

  constructor(config: LoggingConfig['redact'], secrets: readonly string[]) {
    this.#fields = new Set(config.fields);
    const sources = [
      ...secrets.filter((secret) => secret.length >= 4).map((secret) => secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      ...BUILT_IN_PATTERNS.map((pattern) => pattern.source),
      ...config.patterns,
    ];
    this.#pattern = new RegExp(sources.map((source) => `(?:${source})`).join('|'), 'gi');
  }

  get hasFields(): boolean {
    return this.#fields.size > 0;
  }

  /** A copy of a JSON value with the configured fields' values replaced. */
  value(value: unknown): unknown {
    if (this.#fields.size === 0 || typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = this.#fields.has(key) ? REDACTED : this.value(item);
    return copy;
  }

  text(text: string): string {
    return text.replace(this.#pattern, REDACTED);
  }
}
