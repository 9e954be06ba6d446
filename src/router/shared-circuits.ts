import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ioredis } from '../state/lazy-module.ts';
import type { Logger } from '../observability/logger.ts';
import type { CircuitChange } from './circuit-breaker.ts';
import type { HealthMap } from './health-map.ts';
import { performance } from 'node:perf_hooks';

export interface SharedCircuitsOptions {
  readonly url: string;
  readonly keyPrefix: string;
}

interface Notice extends CircuitChange {
  readonly from: string;
}

/**
 * Shares circuit changes between replicas through Redis: each local open or close is
 * published (and kept in a hash, for replicas that start later), and every replica applies
 * the others' changes as they arrive. Redis being down never delays a request: changes
 * are then simply not shared until it is back.
 */
export class SharedCircuits {
  readonly #instance = randomUUID();
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #hash: string;
  readonly #stopListening: () => void;
  readonly #logger: Logger;
  #warned = false;

  constructor(health: HealthMap, options: SharedCircuitsOptions, logger: Logger) {
    this.#logger = logger;
    this.#channel = `${options.keyPrefix}circuit`;
    this.#hash = `${options.keyPrefix}circuits`;
    this.#publisher = new (ioredis().Redis)(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.#subscriber = new (ioredis().Redis)(options.url);
    for (const client of [this.#publisher, this.#subscriber]) client.on('error', (error: Error) => this.#warn(error));
    this.#publisher.on('ready', () => void this.#loadOpen(health));
    void this.#subscriber.subscribe(this.#channel).catch((error: unknown) => this.#warn(error));
    this.#subscriber.on('message', (_channel: string, text: string) => {
      const notice = parseNotice(text);
      if (notice !== undefined && notice.from !== this.#instance)
        health.transientRecord(notice.id).circuit.applyRemote(notice, performance.now());
    });
    this.#stopListening = health.onChange((change, remote) => {
      if (!remote) void this.#share(change);
    });
  }

  close(): Promise<void> {
    this.#stopListening();
    // disconnect, not quit: quit would wait for a Redis that may be down.
    this.#publisher.disconnect();
    this.#subscriber.disconnect();
    return Promise.resolve();
  }

  async #share(change: CircuitChange): Promise<void> {
    const notice: Notice = { ...change, from: this.#instance };
    try {
      await this.#publisher.publish(this.#channel, JSON.stringify(notice));
      if (change.state === 'open') await this.#publisher.hset(this.#hash, change.id, String(Date.now() + change.remainingMs));
      else await this.#publisher.hdel(this.#hash, change.id);
    } catch (error) {
      this.#warn(error);
    }
  }

  /** Circuits other replicas opened before this one started. */
  async #loadOpen(health: HealthMap): Promise<void> {
    try {
      const open = await this.#publisher.hgetall(this.#hash);
      const now = Date.now();
      for (const [id, until] of Object.entries(open)) {
        const remainingMs = Number(until) - now;
        if (remainingMs > 0) health.transientRecord(id).circuit.applyRemote({ id, state: 'open', remainingMs }, performance.now());
      }
    } catch (error) {
      this.#warn(error);
    }
  }

  #warn(error: unknown): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#logger.warn({ err: error }, 'redis unavailable: circuit state is not shared until it is back');
  }
}

function parseNotice(text: string): Notice | undefined {
  try {
    const value = JSON.parse(text) as Partial<Notice>;
    const valid =
      typeof value.id === 'string' &&
      typeof value.from === 'string' &&
      (value.state === 'open' || value.state === 'closed') &&
      typeof value.remainingMs === 'number';
    return valid ? (value as Notice) : undefined;
  } catch {
    return undefined;
  }
}
