import type { Dispatcher } from 'undici';
import type { StartupProblem } from '../config/load.ts';
import type { McpConfig } from '../config/mcp-schema.ts';
import { closeMatches } from '../config/suggest.ts';
import type { Logger } from '../observability/logger.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { ChatRequest } from '../providers/types.ts';
import { GatewayError } from '../server/errors.ts';
import { ContextCache } from './cache.ts';
import { McpConnection, type ConnectionListener } from './connection.ts';
import { contextMessages } from './inject.ts';
import { ToolPins } from './pinning.ts';
import { narrowSelection, PolicySet, type McpSelection } from './policy.ts';
import { buildSources } from './sources/build.ts';
import { cacheHint, resourceKeyPrefix } from './sources/mcp-resource.ts';
import type { ContextSource } from './sources/source.ts';
import { requestVariables } from './templates.ts';
import { isMcpEntry, splitMcpEntries } from './tool-entries.ts';
import { McpPlan } from './tool-loop.ts';
import { buildToolset, type Toolset } from './toolset.ts';
import { collectTools, unavailableError } from './tool-selection.ts';
import type { SourceText } from './inject.ts';
import { requestHeader } from '../server/request-headers.ts';

export interface McpStageOptions {
  readonly logger: Logger;
  readonly dispatcher: Dispatcher;
}

/** A detached fetch: shared by every request waiting on it, so one caller going away does not cancel it for the rest. */
const SHARED_FETCH_TIMEOUT_MS = 30_000;

/**
 * The enrich stage: MCP connections, context sources, policies and the context cache.
 * `prepare` turns a chat request into a plan (injected context and tools, the tool loop)
 * or returns undefined when MCP has nothing to do for it, at no cost.
 */
export class McpStage implements ConnectionListener {
  readonly #config: McpConfig;
  readonly #logger: Logger;
  readonly #connections = new Map<string, McpConnection>();
  readonly #pins = new Map<string, ToolPins>();
  readonly #verified = new Set<string>();
  readonly #sources: ReadonlyMap<string, ContextSource>;
  readonly #problems: StartupProblem[];
  readonly #policies: PolicySet;
  readonly #cache: ContextCache;
  readonly #active: boolean;

  constructor(config: McpConfig, options: McpStageOptions) {
    this.#config = config;
    this.#logger = options.logger;
    this.#cache = new ContextCache(config.cache_max_entries);
    this.#policies = new PolicySet(config);
    this.#active = config.policies.some((policy) => policy.servers.length + policy.opt_in_servers.length + policy.sources.length > 0);
    for (const [name, server] of Object.entries(config.servers)) {
      this.#connections.set(name, new McpConnection(name, server, options.logger, this));
      this.#pins.set(name, new ToolPins(server.tools.pinning, server.tools.pins));
    }
    const built = buildSources(config.sources, { connections: this.#connections, dispatcher: options.dispatcher, logger: options.logger });
    this.#sources = built.sources;
    this.#problems = built.problems;
  }

  /**
   * Connects every server (each bounded by its connect timeout) and checks tool allow/deny
   * lists against what the servers list. Returns config problems; a server that is down
   * is not one (it is retried in the background).
   */
  async start(): Promise<StartupProblem[]> {
    await Promise.all([...this.#connections.values()].map((connection) => connection.start()));
    const problems = [...this.#problems];
    for (const [name, connection] of this.#connections) {
      if (connection.client === undefined) continue;
      const toolset = await this.#toolset(name).catch(() => undefined);
      for (const unknown of toolset?.unknownNames ?? []) {
        const hint = closeMatches(unknown.name, toolset?.listed ?? []);
        const listed = connection.config.tools[unknown.list] ?? [];
        problems.push({
          path: ['mcp', 'servers', name, 'tools', unknown.list, listed.indexOf(unknown.name)],
          message: `server ${name} has no tool "${unknown.name}"${hint.length > 0 ? ` (did you mean "${hint[0]}"?)` : ''}`,
        });
      }
    }
    return problems;
  }

  /** Whether MCP may have anything to do with this request (a policy applies, the caller asks by header or by tool entry). */
  involved(context: RequestContext, request: ChatRequest): boolean {
    return this.#active || requestHeader(context.req, 'x-lightport-mcp') !== undefined || request.tools?.some(isMcpEntry) === true;
  }

  async prepare(context: RequestContext, request: ChatRequest): Promise<McpPlan | undefined> {
    if (!this.involved(context, request)) return undefined;
    const { entries, rest } = splitMcpEntries(request.tools);
    const asked = requestHeader(context.req, 'x-lightport-mcp');
    let selection = this.#policies.select(request.model, context.routeRules, asked, entries);
    if (context.mcpAllow !== undefined) {
      selection = narrowSelection(selection, context.mcpAllow, (source) => this.#sources.get(source)?.server);
    }
    if (selection.servers.length === 0 && selection.sources.length === 0 && entries.length === 0) return undefined;

    const unavailable: string[] = [];
    const [tools, texts] = await Promise.all([
      collectTools(selection, { connections: this.#connections, toolset: (server) => this.#toolset(server), unavailable }),
      this.#collectSources(selection, request, unavailable),
    ]);
    if (unavailable.length > 0) {
      context.headers['x-lightport-mcp-unavailable'] = unavailable.join(',');
      context.mcp = { ...context.mcp, unavailable };
    }
    if (tools.callable.size > 0 && typeof request['n'] === 'number' && request['n'] > 1) {
      throw new GatewayError('invalid_request', "'n' greater than 1 cannot be combined with MCP tools.", { param: 'n' });
    }
    const enriched: ChatRequest = { ...request, messages: [...contextMessages(texts), ...request.messages] };
    if (rest === undefined || rest.length === 0) delete enriched.tools;
    else enriched.tools = rest;
    return new McpPlan({ context, request: enriched, offered: tools.offered, callable: tools.callable, config: this.#config.tool_loop });
  }

  async close(): Promise<void> {
    for (const source of this.#sources.values()) source.close?.();
    await Promise.all([...this.#connections.values()].map((connection) => connection.close()));
  }

  onToolsChanged(server: string): void {
    this.#cache.invalidate(toolsKey(server));
    void this.#toolset(server).catch(() => undefined);
  }

  onPromptsChanged(server: string): void {
    this.#cache.invalidatePrefix(`prompt\0${server}\0`);
  }

  onResourceUpdated(server: string, uri: string): void {
    this.#logger.debug({ mcp_server: server, uri }, 'mcp resource updated');
    this.#cache.invalidatePrefix(resourceKeyPrefix(server, uri));
  }

  onConnected(server: string): void {
    this.#cache.invalidate(toolsKey(server));
    this.#cache.invalidatePrefix(`prompt\0${server}\0`);
    this.#cache.invalidatePrefix(`resource\0${server}\0`);
  }

  /** A server's toolset, cached until its TTL, a list_changed notification or a reconnect. */
  #toolset(server: string): Promise<Toolset> {
    return this.#cache.get(toolsKey(server), async () => {
      const connection = this.#connections.get(server);
      const client = connection?.client;
      if (connection === undefined || client === undefined) throw new Error(`MCP server ${server} is unavailable`);
      const listed = await client.listTools(undefined, { timeout: connection.config.timeout_ms, cacheMode: 'refresh' });
      const toolset = this.#checked(
        buildToolset(server, connection.config, listed.tools, this.#pins.get(server) ?? new ToolPins('off', {})),
      );
      return { value: toolset, ttlMs: cacheHint(listed) ?? connection.config.cache_ttl_ms };
    });
  }

  /** Logs what was withheld; on a server's first listing, a name in allow/deny it lacks withholds all its tools (never a silent allow-all). */
  #checked(toolset: Toolset): Toolset {
    const { server } = toolset;
    for (const withheld of toolset.withheld)
      this.#logger.warn({ mcp_server: server, tool: withheld.name, reason: withheld.reason }, 'mcp tool withheld');
    const firstListing = !this.#verified.has(server);
    this.#verified.add(server);
    if (toolset.unknownNames.length === 0) return toolset;
    const names = toolset.unknownNames.map((unknown) => `${unknown.list}: ${unknown.name}`).join(', ');
    if (!firstListing) {
      this.#logger.warn({ mcp_server: server, names }, 'mcp allow/deny lists name tools the server no longer has');
      return toolset;
    }
    this.#logger.error({ mcp_server: server, names }, 'mcp allow/deny lists name unknown tools; withholding every tool of this server');
    return { ...toolset, tools: [], byName: new Map() };
  }

  async #collectSources(selection: McpSelection, request: ChatRequest, unavailable: string[]): Promise<SourceText[]> {
    if (selection.sources.length === 0) return [];
    const variables = requestVariables(request);
    const texts = await Promise.all(
      selection.sources.map(async (name): Promise<SourceText | undefined> => {
        const source = this.#sources.get(name);
        if (source === undefined) return undefined;
        if (source.server !== undefined && this.#connections.get(source.server)?.client === undefined) {
          if (this.#connections.get(source.server)?.config.required === true) throw unavailableError(source.server);
          unavailable.push(source.server);
          return undefined;
        }
        const resolution = source.resolve(variables);
        if (resolution.kind === 'skip') return undefined;
        const describe = { name, type: source.type, placement: source.placement, maxChars: source.maxChars };
        if (resolution.kind === 'static') return { ...describe, text: resolution.text };
        try {
          const text = await this.#cache.get(resolution.key, () => resolution.fetch(AbortSignal.timeout(SHARED_FETCH_TIMEOUT_MS)));
          return { ...describe, text };
        } catch (error) {
          // A REST source's errors come without its secrets; an MCP server's answer may quote its credentials or URL.
          const connection = source.server === undefined ? undefined : this.#connections.get(source.server);
          const err = connection?.describeError(error) ?? (error instanceof Error ? error.message : String(error));
          this.#logger.warn({ context_source: name, err }, 'context source failed');
          unavailable.push(name);
          return undefined;
        }
      }),
    );
    return texts.filter((text): text is SourceText => text !== undefined);
  }
}

function toolsKey(server: string): string {
  return `tools\0${server}`;
}
