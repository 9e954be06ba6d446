import type { McpConfig, McpPolicyConfig } from '../config/mcp-schema.ts';
import { closeMatches } from '../config/suggest.ts';
import { GatewayError } from '../server/errors.ts';
import type { McpToolEntry } from './tool-entries.ts';

/** One server chosen for a request. */
export interface ServerChoice {
  readonly server: string;
  /** MCP tool names the request narrowed to; undefined means all the config offers. */
  readonly tools?: ReadonlySet<string>;
  /** False when the request asked for approval: calls to this server's tools go back to the client. */
  readonly autoRun: boolean;
  /** The request entry that chose it, for error messages. */
  readonly entryIndex?: number;
}

export interface McpSelection {
  readonly servers: readonly ServerChoice[];
  readonly sources: readonly string[];
}

/**
 * What a caller may use, set by the auth stage from its key (issue 7): servers, and per
 * server the tool names. Applied with `narrowSelection`, which can only remove.
 */
export interface McpAllowlist {
  readonly servers?: readonly string[];
  readonly tools?: Readonly<Record<string, readonly string[]>>;
}

/** `serverOf` names the MCP server a source reads from: sources of servers the key may not use are dropped too. */
export function narrowSelection(
  selection: McpSelection,
  allow: McpAllowlist,
  serverOf: (source: string) => string | undefined,
): McpSelection {
  const servers = selection.servers.flatMap((choice): ServerChoice[] => {
    if (allow.servers !== undefined && !allow.servers.includes(choice.server)) return [];
    const allowedTools = allow.tools?.[choice.server];
    if (allowedTools === undefined) return [choice];
    const tools = new Set(allowedTools.filter((tool) => choice.tools === undefined || choice.tools.has(tool)));
    return [{ ...choice, tools }];
  });
  const sources = selection.sources.filter((source) => {
    const server = serverOf(source);
    return server === undefined || allow.servers === undefined || allow.servers.includes(server);
  });
  return { servers, sources };
}

interface CompiledPolicy {
  readonly models: readonly RegExp[];
  readonly rules: ReadonlySet<string>;
  readonly config: McpPolicyConfig;
}

interface Allowed {
  readonly defaults: readonly string[];
  readonly optional: ReadonlySet<string>;
  readonly sources: readonly string[];
}

const EMPTY: Allowed = { defaults: [], optional: new Set(), sources: [] };
const MEMO_LIMIT = 1000;

/** Policies compiled at load: which servers and sources each request model gets, narrowed by the request. */
export class PolicySet {
  readonly #policies: readonly CompiledPolicy[];
  readonly #servers: readonly string[];
  readonly #byRoute = new Map<string, Allowed>();

  constructor(config: McpConfig) {
    this.#servers = Object.keys(config.servers);
    this.#policies = config.policies.map((policy) => ({
      config: policy,
      models: (policy.models ?? (policy.rules.length > 0 ? [] : ['*'])).map(globToRegExp),
      rules: new Set(policy.rules),
    }));
  }

  /**
   * Servers and sources for a request (by its model and the named routing rules that routed it):
   * the policy defaults, or exactly what the header and MCP tool entries ask for.
   */
  select(model: string, rules: readonly string[] | undefined, header: string | undefined, entries: readonly McpToolEntry[]): McpSelection {
    const allowed = this.#allowedFor(model, rules);
    const requested = header === undefined ? undefined : parseMcpHeader(header);
    if (requested === undefined && entries.length === 0) {
      return { servers: allowed.defaults.map((server) => ({ server, autoRun: true })), sources: allowed.sources };
    }
    const choices = new Map<string, ServerChoice>();
    for (const server of requested ?? []) {
      this.#check(server, allowed, model, 'x-lightport-mcp');
      choices.set(server, { server, autoRun: true });
    }
    for (const entry of entries) {
      this.#check(entry.server, allowed, model, `tools[${entry.index}].server_label`);
      const tools = entry.allowedTools === undefined ? undefined : new Set(entry.allowedTools);
      choices.set(entry.server, { server: entry.server, autoRun: entry.autoRun, entryIndex: entry.index, ...(tools ? { tools } : {}) });
    }
    return { servers: [...choices.values()], sources: allowed.sources };
  }

  #check(server: string, allowed: Allowed, model: string, param: string): void {
    if (!this.#servers.includes(server)) {
      const close = closeMatches(server, this.#servers);
      const hint = close.length > 0 ? ` Did you mean: ${close.join(', ')}?` : ` Configured: ${this.#servers.join(', ') || 'none'}.`;
      throw new GatewayError('mcp_server_unknown', `Unknown MCP server '${server}'.${hint}`, { param });
    }
    if (!allowed.defaults.includes(server) && !allowed.optional.has(server)) {
      throw new GatewayError('mcp_server_not_allowed', `MCP server '${server}' is not available for model '${model}'.`, { param });
    }
  }

  #allowedFor(model: string, rules: readonly string[] | undefined): Allowed {
    const key = rules === undefined ? model : `${model}\n${rules.join('\n')}`;
    const memo = this.#byRoute.get(key);
    if (memo !== undefined) return memo;
    const matching = this.#policies.filter(
      (policy) => policy.models.some((pattern) => pattern.test(model)) || rules?.some((rule) => policy.rules.has(rule)) === true,
    );
    const allowed: Allowed =
      matching.length === 0
        ? EMPTY
        : {
            defaults: unique(matching.flatMap((policy) => policy.config.servers)),
            optional: new Set(matching.flatMap((policy) => policy.config.opt_in_servers)),
            sources: unique(matching.flatMap((policy) => policy.config.sources)),
          };
    if (this.#byRoute.size >= MEMO_LIMIT) this.#byRoute.clear();
    this.#byRoute.set(key, allowed);
    return allowed;
  }
}

/** The servers `x-lightport-mcp` names: none for `none`, which turns tools off. */
export function parseMcpHeader(header: string): string[] {
  const names = header
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return names.length === 1 && names[0] === 'none' ? [] : names;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
