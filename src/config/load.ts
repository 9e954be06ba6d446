import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { checkEmbeddingModels, checkModelReferences, checkRuleNames, type Report } from './check-routes.ts';
import { interpolateEnvironment, type InterpolatedValue } from './interpolate.ts';
import { formatPath, lineOf, locateNode, type YamlPath } from './locate.ts';
import { configSchema, type Config } from './schema.ts';
import { knownKeysAt, suggest } from './suggest.ts';

export interface ConfigProblem {
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export type ConfigResult =
  | {
      readonly ok: true;
      readonly config: Config;
      readonly file: string;
      /** The file's text the config was read from (a watcher compares later versions with it). */
      readonly text: string;
      /** What `${VAR}` references put where: a token in a URL's path is a secret because it came from the environment. */
      readonly interpolated: readonly InterpolatedValue[];
    }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[]; readonly file: string };

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(file: string, problems: readonly ConfigProblem[]) {
    super(`${file} has ${problems.length} problem(s):\n${problems.map((p) => formatProblem(file, p)).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A problem found once the config runs (an MCP server lacks a listed tool, Redis is down), at a YAML path. */
export interface StartupProblem {
  readonly path: YamlPath;
  readonly message: string;
}

/** Start-up problems with the lines of their paths in the config file (line 1 when it cannot be read). */
export async function locateProblems(file: string, problems: readonly StartupProblem[]): Promise<ConfigProblem[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines });
  return problems.map((problem) => ({
    path: formatPath(problem.path),
    ...lineOf(locateNode(document, problem.path), lines),
    message: problem.message,
  }));
}

export function formatProblem(file: string, problem: ConfigProblem): string {
  return `${file}:${problem.line}:${problem.column} ${problem.path}: ${problem.message}`;
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    return { ok: false, file, problems: [{ path: '(file)', line: 1, column: 1, message: reason }] };
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): ConfigResult {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => {
      const position = lines.linePos(error.pos[0]);
      return { path: '(yaml)', line: position.line, column: position.col, message: error.message.split('\n')[0] ?? '' };
    });
    return { ok: false, file, problems };
  }

  const problems: ConfigProblem[] = [];
  const at = (path: YamlPath, message: string, keyOf?: string): void => {
    const position = lineOf(locateNode(document, path, keyOf), lines);
    problems.push({ path: formatPath(keyOf === undefined ? path : [...path, keyOf]), ...position, message });
  };

  const interpolation = interpolateEnvironment(document, env);
  for (const missing of interpolation.missing) {
    at(missing.path, `environment variable ${missing.variable} is not set (write \${${missing.variable}:-default} to make it optional)`);
  }

  let data: unknown;
  try {
    data = document.toJS() ?? {};
  } catch (error) {
    // The yaml library resolves aliases here and throws for one without its anchor, or for an
    // alias count that looks like a resource-exhaustion attack ("billion laughs").
    const position = lines.linePos(firstAliasOffset(document));
    const message = (error as Error).message.split('\n')[0] ?? '';
    return { ok: false, file, problems: [{ path: '(yaml)', line: position.line, column: position.col, message }] };
  }
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) reportIssue(issue, data, at);
  }
  checkReferences(data, at);
  if (problems.length > 0 || !parsed.success) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, file, problems };
  }
  return { ok: true, file, text, config: parsed.data, interpolated: interpolation.values };
}

/** Where the document's first alias starts (the start of the file when it has none). */
function firstAliasOffset(document: Document): number {
  let offset = 0;
  visit(document, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

function reportIssue(issue: z.core.$ZodIssue, data: unknown, at: Report): void {
  const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(configSchema, path, data);
    for (const key of issue.keys) {
      const hint = suggest(key, known);
      const message = hint ? `unknown key "${key}" (did you mean "${hint}"?)` : `unknown key "${key}"; allowed: ${known.join(', ')}`;
      at(path, message, key);
    }
    return;
  }
  at(path, issue.message);
}

/** Cross-references that the schema cannot see, reported alongside shape problems. */
function checkReferences(data: unknown, at: Report): void {
  if (!isRecord(data) || !isRecord(data['models'])) return;
  checkModelReferences(data, data['models'], at);
  checkRuleNames(data, data['models'], at);
  checkEmbeddingModels(data, data['models'], at);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Problems of config data that did not come from a YAML file (the admin API): paths, no lines. */
export function validateConfigData(
  data: unknown,
): { ok: true; config: Config } | { ok: false; problems: Array<{ path: string; message: string }> } {
  const problems: Array<{ path: string; message: string }> = [];
  const at: Report = (path, message, keyOf) => problems.push({ path: formatPath(keyOf === undefined ? path : [...path, keyOf]), message });
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) for (const issue of parsed.error.issues) reportIssue(issue, data, at);
  checkReferences(data, at);
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: parsed.data };
}
