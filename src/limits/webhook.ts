import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { WebhookConfig } from '../config/limits-schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { BudgetAlert } from './budgets.ts';

const MOST_QUEUED = 1000;
const FIRST_BACKOFF_MS = 500;
const LONGEST_BACKOFF_MS = 30_000;

/**
 * Budget alerts: logged at once, then POSTed as JSON to the webhook in the background,
 * one at a time, retried with exponential backoff. A request never waits for an alert;
 * when the queue is full, new alerts are dropped (still logged) and counted.
 */
export class AlertSender {
  dropped = 0;
  failed = 0;
  delivered = 0;
  readonly #config: WebhookConfig | undefined;
  readonly #logger: Logger;
  readonly #queue: BudgetAlert[] = [];
  readonly #dispatcher: Agent | undefined;
  readonly #stopping = new AbortController();
  #draining: Promise<void> | undefined;

  constructor(config: WebhookConfig | undefined, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.#dispatcher = config === undefined ? undefined : new Agent({ keepAliveTimeout: 10_000, connections: 4 });
  }

  send(alert: BudgetAlert): void {
    this.#logger.warn({ alert }, `budget ${Math.round(alert.threshold * 100)}% reached`);
    if (this.#config === undefined) return;
    if (this.#queue.length >= MOST_QUEUED) {
      this.dropped++;
      return;
    }
    this.#queue.push(alert);
    this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
  }

  /** Waits for queued alerts up to `graceMs`, then gives up on the rest. */
  async close(graceMs: number): Promise<void> {
    const timer = setTimeout(() => this.#stopping.abort(), graceMs).unref();
    await this.#draining;
    clearTimeout(timer);
    await this.#dispatcher?.close();
  }

  async #drain(): Promise<void> {
    for (let alert = this.#queue.shift(); alert !== undefined; alert = this.#queue.shift()) {
      if (await this.#deliver(alert)) this.delivered++;
      else this.failed++;
    }
  }

  async #deliver(alert: BudgetAlert): Promise<boolean> {
    const config = this.#config as WebhookConfig;
    const body = JSON.stringify(alert);
    const headers: Record<string, string> = { ...config.headers, 'content-type': 'application/json', 'user-agent': 'lightport' };
    if (config.secret) headers['x-lightport-signature'] = `sha256=${createHmac('sha256', config.secret).update(body).digest('hex')}`;
    for (let attempt = 0; attempt <= config.retries; attempt++) {
      if (attempt > 0) {
        const backoff = Math.min(LONGEST_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
        const slept = await sleep(backoff * (0.5 + Math.random() / 2), true, { signal: this.#stopping.signal }).catch(() => false);
        if (!slept) return false;
      }
      const outcome = await this.#post(config, headers, body);
      if (outcome === 'ok') return true;
      this.#logger.warn({ url_host: new URL(config.url).host, attempt: attempt + 1, outcome }, 'budget alert webhook failed');
    }
    return false;
  }

  async #post(config: WebhookConfig, headers: Record<string, string>, body: string): Promise<string> {
    try {
      const response = await request(config.url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.#dispatcher,
        headersTimeout: config.timeout_ms,
        bodyTimeout: config.timeout_ms,
        signal: this.#stopping.signal,
      });
      await response.body.dump();
      return response.statusCode >= 200 && response.statusCode < 300 ? 'ok' : `HTTP ${response.statusCode}`;
    } catch (error) {
      return (error as Error).message;
    }
  }
}
