import type { Logger } from '../observability/logger.ts';
import type { SpendRow, SpendStore } from './store.ts';

const FLUSH_MS = 1000;
const MOST_PENDING = 10_000;

/**
 * Spend on its way to the store: summed in memory per key or team and period, written
 * once a second (and at shutdown) as increments, so replicas writing the same row add up.
 * If the store is down the sums wait for the next flush; past a bound new ones are dropped and counted.
 */
export class SpendLedger {
  dropped = 0;
  readonly #store: SpendStore;
  readonly #logger: Logger;
  readonly #pending = new Map<string, SpendRow>();
  readonly #timer: NodeJS.Timeout;
  #flushing: Promise<void> | undefined;

  constructor(store: SpendStore, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
    this.#timer = setInterval(() => void this.flush(), FLUSH_MS).unref();
  }

  add(scope: SpendRow['scope'], name: string, period: string, usd: number): void {
    const id = `${scope}\u0000${name}\u0000${period}`;
    const row = this.#pending.get(id);
    if (row !== undefined) row.usd += usd;
    else if (this.#pending.size < MOST_PENDING) this.#pending.set(id, { scope, name, period, usd });
    else this.dropped++;
  }

  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#flushing;
    await this.flush();
  }

  async #write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const rows = [...this.#pending.values()];
    this.#pending.clear();
    try {
      await this.#store.addSpend(rows);
    } catch (error) {
      this.#logger.warn(
        { err_message: (error as Error).message, rows: rows.length },
        'could not write budget spend to the store; will retry',
      );
      for (const row of rows) this.add(row.scope, row.name, row.period, row.usd);
    }
  }
}
