import { Agent, type Dispatcher } from 'undici';
import type { Config } from '../config/schema.ts';
import { buildProvider } from '../providers/catalog.ts';
import type { Provider } from '../providers/types.ts';
import type { CircuitSettings } from '../router/circuit-breaker.ts';
import { HealthMap } from '../router/health-map.ts';
import { RoutingTable } from '../router/routing-table.ts';

/** Closes a replaced generation's providers once its requests have had time to finish. */
const RETIRE_AFTER_MS = 60_000;

export function circuitSettings(config: Config): CircuitSettings {
  const circuit = config.router.circuit;
  return {
    enabled: circuit.enabled,
    failures: circuit.failures,
    errorRate: circuit.error_rate,
    minRequests: circuit.min_requests,
    windowMs: circuit.window_ms,
    openMs: circuit.open_ms,
  };
}

/**
 * The swappable part of the gateway: providers and routing built from one config. The
 * keep-alive pools (one per connect timeout) and the health map outlive generations, so a
 * reload neither drops warm connections nor forgets which targets are failing.
 */
export class RoutingRuntime {
  readonly health: HealthMap;
  #current: RoutingTable;
  readonly #dispatchers = new Map<number, Agent>();
  readonly #retired = new Set<ReadonlyMap<string, Provider>>();

  constructor(config: Config) {
    this.health = new HealthMap(circuitSettings(config));
    this.#current = this.#build(config);
  }

  get current(): RoutingTable {
    return this.#current;
  }

  get config(): Config {
    return this.#current.config;
  }

  /** The dispatcher for a connect timeout (shared by every provider with that timeout). */
  dispatcher(connectMs: number): Dispatcher {
    let agent = this.#dispatchers.get(connectMs);
    if (agent === undefined) {
      agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 256, connect: { timeout: connectMs } });
      this.#dispatchers.set(connectMs, agent);
    }
    return agent;
  }

  /** Builds the new generation completely, then swaps it in with one assignment. */
  apply(config: Config): void {
    const next = this.#build(config);
    const previous = this.#current;
    this.health.configure(circuitSettings(config));
    this.#current = next;
    const providers = previous.providers;
    this.#retired.add(providers);
    setTimeout(() => void this.#closeProviders(providers), RETIRE_AFTER_MS).unref();
  }

  async close(): Promise<void> {
    const generations = [this.#current.providers, ...this.#retired];
    await Promise.all(generations.map((providers) => this.#closeProviders(providers)));
    await Promise.all([...this.#dispatchers.values()].map((agent) => agent.close()));
  }

  #build(config: Config): RoutingTable {
    const providers = new Map<string, Provider>();
    const skipped = new Map<string, string>();
    for (const [name, providerConfig] of Object.entries(config.providers)) {
      const connectMs =
        providerConfig.type === 'mock'
          ? config.router.timeouts.connect_ms
          : (providerConfig.connect_timeout_ms ?? config.router.timeouts.connect_ms);
      const built = buildProvider(name, providerConfig, this.dispatcher(connectMs), config.server.request_timeout_ms);
      if ('provider' in built) providers.set(name, built.provider);
      else skipped.set(name, built.skipped);
    }
    return new RoutingTable(config, providers, skipped, this.health);
  }

  async #closeProviders(providers: ReadonlyMap<string, Provider>): Promise<void> {
    if (!this.#retired.delete(providers) && providers !== this.#current.providers) return;
    await Promise.all([...providers.values()].map((provider) => provider.close()));
  }
}
