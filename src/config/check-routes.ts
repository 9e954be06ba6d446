import { formatPath, type YamlPath } from './locate.ts';
import { suggest } from './suggest.ts';

export type Report = (path: YamlPath, message: string, keyOf?: string) => void;

interface Reference {
  readonly name: string;
  readonly path: YamlPath;
}

/**
 * Cross-references in `models:` that the schema cannot see: providers that exist, target
 * names that are models or `<provider>/<model>`, and no cycles among models.
 */
export function checkModelReferences(data: Record<string, unknown>, models: Record<string, unknown>, at: Report): void {
  const providers = isRecord(data['providers']) ? Object.keys(data['providers']) : [];
  const modelNames = Object.keys(models);
  const edges = new Map<string, Reference[]>();
  for (const [name, model] of Object.entries(models)) {
    if (!isRecord(model)) continue;
    const references: Reference[] = [];
    for (const [entry, path] of targetEntries(model, ['models', name])) {
      if (typeof entry === 'string') references.push({ name: entry, path });
      else if (typeof entry['target'] === 'string') references.push({ name: entry['target'], path: [...path, 'target'] });
      else if (typeof entry['provider'] === 'string') checkProvider(entry['provider'], [...path, 'provider'], providers, at);
    }
    if (typeof model['provider'] === 'string') checkProvider(model['provider'], ['models', name, 'provider'], providers, at);
    const known = references.filter((reference) => checkReference(reference, modelNames, providers, at));
    edges.set(
      name,
      known.filter((reference) => modelNames.includes(reference.name)),
    );
  }
  reportCycles(edges, at);
}

function* targetEntries(model: Record<string, unknown>, path: YamlPath): Generator<[string | Record<string, unknown>, YamlPath]> {
  if (Array.isArray(model['targets'])) {
    for (const [index, value] of model['targets'].entries()) {
      const entry = asEntry(value);
      if (entry !== undefined) yield [entry, [...path, 'targets', index]];
    }
  }
  if (Array.isArray(model['rules'])) {
    for (const [index, rule] of model['rules'].entries()) {
      const entry = isRecord(rule) ? asEntry(rule['target']) : undefined;
      if (entry !== undefined) yield [entry, [...path, 'rules', index, 'target']];
    }
  }
  const fallback = asEntry(model['default']);
  if (fallback !== undefined) yield [fallback, [...path, 'default']];
}

function asEntry(value: unknown): string | Record<string, unknown> | undefined {
  return typeof value === 'string' || isRecord(value) ? value : undefined;
}

/** The semantic cache's embedding models are models under models or <provider>/<model>. */
export function checkEmbeddingModels(data: Record<string, unknown>, models: Record<string, unknown>, at: Report): void {
  const cache = data['cache'];
  if (!isRecord(cache)) return;
  const providers = isRecord(data['providers']) ? Object.keys(data['providers']) : [];
  const policies: [unknown, YamlPath][] = [[cache['defaults'], ['cache', 'defaults']]];
  if (isRecord(cache['models']))
    for (const [name, policy] of Object.entries(cache['models'])) policies.push([policy, ['cache', 'models', name]]);
  for (const [policy, path] of policies) {
    const name = isRecord(policy) ? policy['embedding_model'] : undefined;
    if (typeof name === 'string') checkReference({ name, path: [...path, 'embedding_model'] }, Object.keys(models), providers, at);
  }
}

/**
 * Routing rule names: unique across models, and every name an MCP policy attaches to exists.
 */
export function checkRuleNames(data: Record<string, unknown>, models: Record<string, unknown>, at: Report): void {
  const named = new Map<string, YamlPath>();
  for (const [model, entry] of Object.entries(models)) {
    if (!isRecord(entry) || !Array.isArray(entry['rules'])) continue;
    for (const [index, rule] of entry['rules'].entries()) {
      const name = isRecord(rule) ? rule['name'] : undefined;
      if (typeof name !== 'string') continue;
      const path = ['models', model, 'rules', index, 'name'];
      const first = named.get(name);
      if (first === undefined) named.set(name, path);
      else at(path, `rule name "${name}" is taken by ${formatPath(first)}`);
    }
  }
  const mcp = data['mcp'];
  const policies = isRecord(mcp) && Array.isArray(mcp['policies']) ? mcp['policies'] : [];
  for (const [index, policy] of policies.entries()) {
    const rules = isRecord(policy) && Array.isArray(policy['rules']) ? policy['rules'] : [];
    for (const [position, rule] of rules.entries()) {
      if (typeof rule !== 'string' || named.has(rule)) continue;
      const hint = suggest(rule, [...named.keys()]);
      at(
        ['mcp', 'policies', index, 'rules', position],
        `unknown routing rule "${rule}"${hint ? ` (did you mean "${hint}"?)` : '; name a rule with models.<model>.rules[].name'}`,
      );
    }
  }
}

function checkProvider(provider: string, path: YamlPath, providers: readonly string[], at: Report): void {
  if (providers.includes(provider)) return;
  const hint = suggest(provider, providers);
  at(path, `unknown provider "${provider}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
}

function checkReference(reference: Reference, models: readonly string[], providers: readonly string[], at: Report): boolean {
  if (models.includes(reference.name)) return true;
  const slash = reference.name.indexOf('/');
  if (slash > 0 && providers.includes(reference.name.slice(0, slash)) && slash < reference.name.length - 1) return true;
  const hint = suggest(reference.name, [...models, ...providers.map((provider) => `${provider}/`)]);
  at(
    reference.path,
    `"${reference.name}" is neither a model under models nor <provider>/<model> with a known provider${hint ? ` (did you mean "${hint}"?)` : ''}`,
  );
  return false;
}

/** Depth-first search; each cycle is reported once, at the reference that closes it. */
function reportCycles(edges: ReadonlyMap<string, readonly Reference[]>, at: Report): void {
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    if (done.has(name)) return;
    stack.push(name);
    for (const reference of edges.get(name) ?? []) {
      const start = stack.indexOf(reference.name);
      if (start !== -1) at(reference.path, `models form a cycle: ${[...stack.slice(start), reference.name].join(' -> ')}`);
      else visit(reference.name);
    }
    stack.pop();
    done.add(name);
  };
  for (const name of edges.keys()) visit(name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
