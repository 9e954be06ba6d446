import type { Client, ClientOptions, McpSubscription } from '@modelcontextprotocol/client';
import type { McpServerConfig } from '../config/mcp-schema.ts';
import type { Logger } from '../observability/logger.ts';
import { replaceSecrets } from '../observability/redaction.ts';
import { openClient, serverSecrets } from './transports.ts';

export type ConnectionState = 'connecting' | 'ready' | 'down' | 'closed';

/** What a server tells the gateway between requests: lists changed, a resource updated, the connection came or went. */
export interface ConnectionListener {
  onToolsChanged(server: string): void;
  onPromptsChanged(server: string): void;
  onResourceUpdated(server: string, uri: string): void;
  onConnected(server: string): void;
}

const BACKOFF_MIN_MS = 250;
const MAX_WATCHED_RESOURCES = 1000;
const BACKOFF_MAX_MS = 30_000;

/**
 * One configured MCP server: connects, and reconnects with exponential backoff when
 * the process dies or the connection drops. Requests use it only while it is ready.
 */
export class McpConnection {
  readonly name: string;
  readonly config: McpServerConfig;
  readonly #logger: Logger;
  readonly #listener: ConnectionListener;
  readonly #secrets: readonly string[];
  #client: Client | undefined;
  #state: ConnectionState = 'down';
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #protocolVersion: string | undefined;
  /** Resource URIs this connection asked the server to report updates for. */
  readonly #watched = new Set<string>();
  #listen: McpSubscription | undefined;

  constructor(name: string, config: McpServerConfig, logger: Logger, listener: ConnectionListener) {
    this.name = name;
    this.config = config;
    this.#logger = logger;
    this.#listener = listener;
    this.#secrets = serverSecrets(config);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }

  /** The client while connected; undefined while down. */
  get client(): Client | undefined {
    return this.#state === 'ready' ? this.#client : undefined;
  }

  /** An error's message without this server's credentials or the tokens its URL may hold: for logs and for the model. */
  describeError(error: unknown): string {
    return replaceSecrets(error instanceof Error ? error.message : String(error), this.#secrets);
  }

  /** The first connection attempt; resolves either way (a failure schedules a retry). */
  start(): Promise<void> {
    return this.#connect();
  }

  /**
   * Asks the server to send `notifications/resources/updated` for a URI: `resources/subscribe`
   * on 2025-11-25, a `subscriptions/listen` stream (re-opened with the grown URI list) on
   * 2026-07-28. Best effort: without it, the cache TTL still applies.
   */
  watchResource(uri: string): void {
    const client = this.client;
    if (client === undefined || this.#watched.has(uri) || this.#watched.size >= MAX_WATCHED_RESOURCES) return;
    if (client.getServerCapabilities()?.resources?.subscribe !== true) return;
    this.#watched.add(uri);
    if (client.getProtocolEra() === 'legacy') {
      client.subscribeResource({ uri }).catch(() => this.#watched.delete(uri));
      return;
    }
    const previous = this.#listen;
    client.listen({ resourceSubscriptions: [...this.#watched] }).then(
      (subscription) => {
        this.#listen = subscription;
        void previous?.close();
      },
      (error: unknown) =>
        this.#logger.debug({ mcp_server: this.name, err: this.describeError(error) }, 'mcp resource subscription refused'),
    );
  }

  /** A call failed in a way that says the connection is gone: drop it and reconnect. */
  reportBroken(error: unknown): void {
    if (this.#state !== 'ready') return;
    this.#logger.warn({ mcp_server: this.name, err: this.describeError(error) }, 'mcp server connection lost');
    this.#markDown();
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.close().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'connecting';
    try {
      const opened = await openClient(this.name, this.config, this.#clientOptions(), this.#logger);
      if (this.#isClosed()) {
        await opened.client.close();
        return;
      }
      this.#client = opened.client;
      this.#protocolVersion = opened.client.getNegotiatedProtocolVersion();
      // The SDK's Protocol exposes its close callback only as a property.
      // oxlint-disable-next-line unicorn/prefer-add-event-listener
      opened.client.onclose = () => {
        if (this.#client === opened.client && this.#state === 'ready') {
          this.#logger.warn({ mcp_server: this.name }, 'mcp server disconnected');
          this.#markDown();
        }
      };
      opened.client.setNotificationHandler('notifications/resources/updated', (notification) => {
        this.#listener.onResourceUpdated(this.name, notification.params.uri);
      });
      this.#state = 'ready';
      this.#failures = 0;
      this.#logger.info(
        { mcp_server: this.name, transport: opened.transport, protocol_version: this.#protocolVersion },
        'mcp server connected',
      );
      this.#listener.onConnected(this.name);
    } catch (error) {
      if (this.#isClosed()) return;
      this.#logger.warn({ mcp_server: this.name, err: this.describeError(error) }, 'mcp server unavailable');
      this.#state = 'down';
      this.#scheduleReconnect();
    }
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #markDown(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#watched.clear();
    this.#listen = undefined;
    this.#state = 'down';
    void client?.close().catch(() => undefined);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#state === 'closed' || this.#timer !== undefined) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.#failures) * (0.75 + Math.random() * 0.5);
    this.#failures++;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#connect();
    }, delay);
    this.#timer.unref();
  }

  #clientOptions(): ClientOptions {
    return {
      listChanged: {
        tools: changed(() => this.#listener.onToolsChanged(this.name)),
        prompts: changed(() => this.#listener.onPromptsChanged(this.name)),
      },
    };
  }
}

/** The SDK only signals list changes; the stage reloads through its cache (single flight). */
function changed(notify: () => void) {
  return { autoRefresh: false, debounceMs: 0, onChanged: notify };
}
