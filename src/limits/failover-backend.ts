import { limitsBackendChanged, type LimitsBackendChanged } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { GatewayError } from '../server/errors.ts';
import type { Admission, AdmitRequest, LimitBackend, SettleRequest, Settled, SpendSeed } from './backend.ts';
import { NOTHING_CROSSED } from './backend.ts';

export type FailMode = 'open' | 'closed';

export interface FailoverCounters {
  /** Redis calls that failed. */
  errors: number;
  /** Decisions made without Redis: admitted under local limits (open) or refused (closed). */
  degradedDecisions: number;
}

/**
 * Redis first; when a call fails, the configured policy: `open` decides with this process's
 * own in-memory limits, `closed` refuses with 503. Either way it is logged (once per outage)
 * and counted. A lease taken locally is released locally.
 */
export class FailoverBackend implements LimitBackend {
  readonly counters: FailoverCounters = { errors: 0, degradedDecisions: 0 };
  readonly #primary: LimitBackend;
  readonly #local: LimitBackend;
  readonly #mode: FailMode;
  readonly #logger: Logger;
  readonly #onRecovered: () => void;
  readonly #localLeases = new Set<string>();
  #down = false;

  constructor(options: { primary: LimitBackend; local: LimitBackend; mode: FailMode; logger: Logger; onRecovered: () => void }) {
    this.#primary = options.primary;
    this.#local = options.local;
    this.#mode = options.mode;
    this.#logger = options.logger;
    this.#onRecovered = options.onRecovered;
  }

  get degraded(): boolean {
    return this.#down;
  }

  /** At once when the primary decides at once (from what it holds, without Redis); else when Redis answers. */
  admit(request: AdmitRequest): Admission | Promise<Admission> {
    let decided: Admission | Promise<Admission>;
    try {
      decided = this.#primary.admit(request);
    } catch (error) {
      return this.#admitWithout(request, error);
    }
    if (!(decided instanceof Promise)) return decided;
    return decided.then(
      (admission) => {
        if (this.#down) this.#recovered();
        return admission;
      },
      (error: unknown) => this.#admitWithout(request, error),
    );
  }

  /** The primary failed: refuse (closed) or decide with this process's own limits (open). */
  async #admitWithout(request: AdmitRequest, error: unknown): Promise<Admission> {
    this.#failed(error);
    this.counters.degradedDecisions++;
    if (this.#mode === 'closed') {
      throw new GatewayError(
        'limits_unavailable',
        'The rate-limit store is unreachable and this gateway is set to fail closed; retry shortly.',
      );
    }
    const admission = await this.#local.admit(request);
    if (admission.kind === 'admitted' && request.leases.length > 0) this.#localLeases.add(request.leaseId);
    return admission;
  }

  settle(request: SettleRequest): Settled | Promise<Settled> {
    if (this.#localLeases.delete(request.leaseId)) return this.#local.settle(request);
    let settled: Settled | Promise<Settled>;
    try {
      settled = this.#primary.settle(request);
    } catch (error) {
      return this.#settleWithout(request, error);
    }
    return settled instanceof Promise ? settled.catch((error: unknown) => this.#settleWithout(request, error)) : settled;
  }

  #settleWithout(request: SettleRequest, error: unknown): Settled | Promise<Settled> {
    this.#failed(error);
    // Spend still reaches the store's ledger; here it only feeds local thresholds.
    return this.#mode === 'open' ? this.#local.settle({ ...request, leases: [] }) : NOTHING_CROSSED;
  }

  async seedSpend(entries: readonly SpendSeed[]): Promise<void> {
    await this.#local.seedSpend(entries);
    try {
      await this.#primary.seedSpend(entries);
    } catch (error) {
      this.#failed(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#primary.close(), this.#local.close()]);
  }

  #failed(error: unknown): void {
    this.counters.errors++;
    if (this.#down) return;
    this.#down = true;
    const message = error instanceof Error ? error.message : String(error);
    this.#logger.warn(
      { err_message: message, fail_mode: this.#mode },
      this.#mode === 'open'
        ? 'Redis unreachable: admitting under local in-memory limits'
        : 'Redis unreachable: refusing requests (fail closed)',
    );
    this.#publish({ state: 'unavailable', failMode: this.#mode, error: message });
  }

  #recovered(): void {
    this.#down = false;
    this.#logger.info({ degraded_decisions: this.counters.degradedDecisions }, 'Redis reachable again: limits shared across replicas');
    this.#publish({ state: 'recovered', failMode: this.#mode });
    this.#onRecovered();
  }

  #publish(event: LimitsBackendChanged): void {
    if (limitsBackendChanged.hasSubscribers) limitsBackendChanged.publish(event);
  }
}
