/**
 * Globs for model, server and tool names: `*` is any run of characters (slashes included,
 * since `openai/gpt-4o` is one name, not a path), `?` one character. Compiled once.
 */
export type NameMatcher = (name: string) => boolean;

export function compileGlobs(patterns: readonly string[]): NameMatcher {
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((pattern) => !/[*?]/.test(pattern)));
  const wild = patterns.filter((pattern) => /[*?]/.test(pattern)).map(globToRegExp);
  if (wild.length === 0) return (name) => exact.has(name);
  return (name) => exact.has(name) || wild.some((regexp) => regexp.test(name));
}

function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${source}$`);
}

/** The value of an exact name, else of the first glob (in order) that matches, e.g. per-model limits. */
export function firstMatch<T>(entries: ReadonlyArray<readonly [string, T]>): (name: string) => T | undefined {
  const exact = new Map(entries.filter(([pattern]) => !/[*?]/.test(pattern)));
  const wild = entries.filter(([pattern]) => /[*?]/.test(pattern)).map(([pattern, value]) => [globToRegExp(pattern), value] as const);
  return (name) => exact.get(name) ?? wild.find(([regexp]) => regexp.test(name))?.[1];
}
