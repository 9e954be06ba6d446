import type { InterpolatedValue } from '../config/interpolate.ts';
import type { YamlPath } from '../config/locate.ts';
import type { LoggingConfig } from '../config/observability-schema.ts';

export const REDACTED = '[redacted]';

/** Key-shaped strings redacted in every logged body, whatever the config says. */
const BUILT_IN_PATTERNS = [/\bsk-[A-Za-z0-9_-]{16,}/, /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/i];

/**
 * Lightport's own keys (`lp-` and 32 base64url characters), matched case-sensitively apart from
 * the patterns above: the 32 characters must hold an upper-case letter, a digit or `_`, so
 * hyphenated words that happen to start with `lp-` stay readable.
 */
const GATEWAY_KEY = /\blp-(?=[A-Za-z0-9_-]{0,31}[A-Z0-9_])[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])/g;

/** Secrets shorter than this are left alone: redacting them would mangle ordinary text. */
export const SHORTEST_SECRET = 4;

/** Config fields whose string values are secrets, at any depth. */
export const SECRET_FIELD = /api[_-]?key|^key$|secret|token|password|authorization|credential|access_key/i;

/** Config maps whose every value is a secret (headers sent somewhere, a child's environment); a string there is a setting. */
export const SECRET_MAPS: ReadonlySet<string> = new Set(['headers', 'env']);

/** URL query parameters whose values are secrets. */
const SECRET_QUERY = /key|secret|token|passw|pwd|auth|sig|credential|code/i;

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** `password=...` in a key/value connection string (PostgreSQL's libpq form). */
const DSN_PASSWORD = /\bpassword\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']+))/gi;

/** The secrets inside one config string: a URL's password and secret-named query values, a DSN's password. */
export function stringSecrets(value: string): string[] {
  const secrets: string[] = [];
  if (URL_LIKE.test(value)) {
    try {
      const url = new URL(value);
      if (url.password) secrets.push(url.password, safeDecode(url.password));
      for (const [name, item] of url.searchParams) if (SECRET_QUERY.test(name) && item) secrets.push(item);
    } catch {
      // not a URL after all: only the DSN form below can hold a secret
    }
  }
  for (const match of value.matchAll(DSN_PASSWORD)) {
    const password = match[1] ?? match[2];
    if (password) secrets.push(password);
  }
  return secrets;
}

/** A URL-valued string with its password and secret-named query values replaced; other strings unchanged. */
export function redactUrlSecrets(value: string): string {
  const dsn = value.replace(DSN_PASSWORD, `password=${REDACTED}`);
  if (!URL_LIKE.test(value)) return dsn;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return REDACTED;
  }
  let changed = false;
  if (url.password) {
    url.password = 'redacted';
    changed = true;
  }
  for (const name of new Set(url.searchParams.keys())) {
    if (!SECRET_QUERY.test(name)) continue;
    url.searchParams.set(name, 'redacted');
    changed = true;
  }
  return changed ? url.href : value;
}

/**
 * Config URLs whose path and query are secret, as a webhook's or an MCP server's often carry a
 * token there (`https://hooks.slack.com/services/T…/B…/…`, `https://mcp.example.com/<key>/mcp`):
 * the budget webhook, HTTP MCP servers and REST context sources. Their scheme and host stay readable.
 */
const PATH_HIDING_URLS: readonly (readonly string[])[] = [
  ['budgets', 'webhook', 'url'],
  ['mcp', 'servers', '*', 'url'],
  ['mcp', 'sources', '*', 'url'],
];

const COMMAND_ARGS: readonly string[] = ['mcp', 'servers', '*', 'args'];
const FLAG_WITH_VALUE = /^--?([\w.-]+)=(.*)$/s;
const FLAG = /^--?([\w.-]+)$/;

/**
 * The positions of secrets in a stdio MCP server's command line: the value of a secret-named flag,
 * given as `--api-key=VALUE` or as the argument after `--api-key` (`--token`, `--password`...).
 */
export function secretArgPositions(path: YamlPath, args: readonly unknown[]): Set<number> {
  const positions = new Set<number>();
  if (path.length !== COMMAND_ARGS.length || !COMMAND_ARGS.every((key, index) => key === '*' || key === path[index])) return positions;
  args.forEach((arg, index) => {
    if (typeof arg !== 'string') return;
    const previous = index > 0 ? args[index - 1] : undefined;
    const flag = typeof previous === 'string' ? FLAG.exec(previous) : null;
    if (FLAG_WITH_VALUE.exec(arg)?.[1]?.match(SECRET_FIELD) || (flag?.[1] !== undefined && SECRET_FIELD.test(flag[1])))
      positions.add(index);
  });
  return positions;
}

/** A secret argument as shown: `--token=[redacted]` keeps its flag, a separate value is replaced whole. */
export function redactedArg(arg: string): string {
  const flag = FLAG_WITH_VALUE.exec(arg);
  return flag === null ? REDACTED : `${arg.slice(0, arg.length - (flag[2] ?? '').length)}${REDACTED}`;
}

/** Whether the config string at this path is a URL whose path and query are hidden (`*` matches any name). */
export function hidesUrlPath(path: YamlPath): boolean {
  return PATH_HIDING_URLS.some(
    (pattern) => pattern.length === path.length && pattern.every((key, index) => key === '*' || key === path[index]),
  );
}

/** Such a URL as shown: its scheme and host, and `/[redacted]` for any path, query or user info. */
export function maskUrlPath(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden =
      parsed.pathname.length > 1 || parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '';
    return hidden ? `${parsed.protocol}//${parsed.host}/${REDACTED}` : parsed.href;
  } catch {
    return REDACTED;
  }
}

/** Path segments this long are taken for tokens in every log line (Slack's, Discord's...); shorter ones would catch words such as `items`. */
const SHORTEST_PATH_TOKEN = 16;
/** A template expression in a REST source's URL (`{user}`): filled per request, no secret. */
const TEMPLATE_EXPRESSION = /\{[^{}]*\}/;
const TEMPLATE_EXPRESSIONS = /\{[^{}]*\}/g;

/**
 * The parts of such a URL that may be a token, to redact from text that quotes them (the host
 * stays readable): its user info, every query value, and each path segment at least
 * `shortestSegment` long (its literal text: a template's `{user}` is none), as written and
 * decoded. A string that does not parse as a URL is one secret whole.
 */
export function urlPathSecrets(url: string, shortestSegment = SHORTEST_PATH_TOKEN): string[] {
  let parsed: URL;
  try {
    // Each expression emptied first: `{?user}` or `{/user}` would otherwise begin the query or a
    // segment of the template, and the text before it would be no part that a rendered URL holds.
    parsed = new URL(url.replace(TEMPLATE_EXPRESSIONS, '{}'));
  } catch {
    return [url];
  }
  const userInfo = [parsed.username, parsed.password].flatMap((part) => [part, safeDecode(part)]);
  const segments = parsed.pathname
    .split('/')
    .flatMap(literalParts)
    .filter((part) => part.length >= shortestSegment);
  const values = parsed.search
    .slice(1)
    .split('&')
    .flatMap((pair) => (pair.includes('=') ? literalParts(pair.slice(pair.indexOf('=') + 1)) : []));
  return [...new Set([...userInfo, ...segments, ...values])].filter((part) => part !== '');
}

/** A path segment or query value as written and decoded, less its template expressions (`{user}` is filled per request). */
function literalParts(text: string): string[] {
  const decoded = safeDecode(text);
  return TEMPLATE_EXPRESSION.test(decoded) ? decoded.split(TEMPLATE_EXPRESSION) : [text, decoded];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The text with each of the given secrets replaced, longest first (so `Bearer <key>` goes whole before its key). */
export function replaceSecrets(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets.toSorted((a, b) => b.length - a.length)) {
    if (secret.length >= SHORTEST_SECRET) clean = clean.replaceAll(secret, REDACTED);
  }
  return clean;
}

/**
 * Every secret a config holds, found by shape rather than by a list that could fall behind the
 * schema: values of secret-named fields (API keys, gateway keys, tokens, passwords, AWS and Azure
 * credentials), every value of a `headers` or `env` map, passwords and secret query values of
 * URL-valued strings anywhere (request-log, state and Redis URLs...), and a URL whose path is
 * hidden, whole and the tokens it may hold (`urlPathSecrets`).
 */
export function collectSecrets(value: unknown, path: YamlPath = [], into: string[] = []): string[] {
  const field = path.at(-1);
  if (typeof value === 'string') {
    if (typeof field === 'string' && SECRET_FIELD.test(field)) into.push(value);
    else if (hidesUrlPath(path)) into.push(value, ...urlPathSecrets(value));
    else into.push(...stringSecrets(value));
  } else if (Array.isArray(value)) {
    const secretArgs = secretArgPositions(path, value);
    value.forEach((item: unknown, index) => {
      if (secretArgs.has(index) && typeof item === 'string') into.push(FLAG_WITH_VALUE.exec(item)?.[2] ?? item);
      else collectSecrets(item, [...path, index], into);
    });
  } else if (typeof value === 'object' && value !== null) {
    const secretMap = typeof field === 'string' && SECRET_MAPS.has(field);
    for (const [key, child] of Object.entries(value)) {
      if (secretMap && typeof child === 'string') into.push(child);
      else collectSecrets(child, [...path, key], into);
    }
  }
  return into;
}

/**
 * The values `${VAR}` references put into URLs whose path is hidden: secrets however short, since
 * they came from the environment, unless they name only the host (which stays readable).
 */
export function interpolatedSecrets(config: unknown, interpolated: readonly InterpolatedValue[]): string[] {
  return interpolated
    .filter(({ path, value }) => hidesUrlPath(path) && !namesHostOnly(value, valueAt(config, path)))
    .map(({ value }) => value);
}

function valueAt(root: unknown, path: YamlPath): string {
  const value = path.reduce<unknown>(
    (node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined),
    root,
  );
  return typeof value === 'string' ? value : '';
}

/** Whether the value occurs once in the URL, in its host or port. */
function namesHostOnly(value: string, url: string): boolean {
  try {
    return new URL(url).host.includes(value.toLowerCase()) && url.split(value).length === 2;
  } catch {
    return false;
  }
}

/**
 * Removes secrets from bodies before they are logged or stored: values of the configured
 * field names at any depth, matches of the configured patterns, key-shaped strings, and
 * every secret the config itself holds (provider keys, the admin key...).
 */
export class Redactor {
  readonly #fields: ReadonlySet<string>;
  readonly #patterns: readonly string[];
  readonly #secrets = new Set<string>();
  #pattern: RegExp;

  constructor(config: LoggingConfig['redact'], secrets: readonly string[]) {
    this.#fields = new Set(config.fields);
    this.#patterns = config.patterns;
    this.#remember(secrets);
    this.#pattern = this.#compile();
  }

  /**
   * Adds the secrets of a reloaded config: the pattern is rebuilt once, and only when one is new.
   * Those of earlier versions stay redacted (a secret removed from the config may still be echoed).
   */
  addSecrets(secrets: readonly string[]): void {
    if (this.#remember(secrets)) this.#pattern = this.#compile();
  }

  /** Whether any of the secrets was new. */
  #remember(secrets: readonly string[]): boolean {
    const known = this.#secrets.size;
    for (const secret of secrets) if (secret.length >= SHORTEST_SECRET) this.#secrets.add(secret);
    return this.#secrets.size > known;
  }

  #compile(): RegExp {
    const sources = [
      ...[...this.#secrets].map((secret) => secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      ...BUILT_IN_PATTERNS.map((pattern) => pattern.source),
      ...this.#patterns,
    ];
    return new RegExp(sources.map((source) => `(?:${source})`).join('|'), 'gi');
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

  /** The text with every secret replaced, and the given ones too (the request's own credentials). */
  text(text: string, also: readonly string[] = []): string {
    return replaceSecrets(text, also).replace(this.#pattern, REDACTED).replace(GATEWAY_KEY, REDACTED);
  }
}
