import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { resolve } from 'node:path';
import type { RequestLogConfig } from '../config/observability-schema.ts';
import { openPostgres } from '../state/postgres.ts';
import type { SqlDatabase, SqlValue } from '../state/sql.ts';
import { openSqlite } from '../state/sqlite.ts';
import type { BodyRenderer } from './bodies.ts';
import type { RequestFinished } from './events.ts';
import type { Logger } from './logger.ts';
import type { RequestLogStats } from './metric-definitions.ts';
import { EncodedRows } from '../state/encoded-rows.ts';
import {
  createRequestLogStore,
  recordRow,
  type RequestLogStore,
  type RequestRecord,
  type UsageQuery,
  type UsageRow,
} from './request-log-store.ts';

export interface RequestLog {
  readonly backend: 'sqlite' | 'postgres';
  stats(): RequestLogStats;
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /** Writes what is queued (within a short grace), then closes the store. */
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
const CLOSE_GRACE_MS = 5_000;

function openRequestLogDatabase(config: RequestLogConfig, env: NodeJS.ProcessEnv = process.env): SqlDatabase {
  const url = config.postgres_url || env['DATABASE_URL'];
  const backend = config.backend ?? (url ? 'postgres' : 'sqlite');
  if (backend === 'sqlite') return openSqlite(resolve(config.sqlite_path));
  if (!url) throw new Error('request_log.backend is postgres but neither request_log.postgres_url nor DATABASE_URL is set');
  return openPostgres({ url, schema: config.postgres_schema });
}

/**
 * Subscribes to finished requests and writes their records after the response, in
 * batches, through a bounded queue: when the queue is full or the store fails, records
 * are dropped and counted, and no request ever waits for the store.
 */
export function startRequestLog(config: RequestLogConfig, bodies: BodyRenderer, logger: Logger): RequestLog {
  const db = openRequestLogDatabase(config);
  const store = createRequestLogStore(db);
  const writer = new QueuedWriter(store, config, logger);
  const onFinished = (message: unknown): void => {
    const event = message as RequestFinished;
    if (event.operation !== undefined) writer.add(recordRow(toRecord(event, bodies)));
  };
  subscribe('lightport:request:finished', onFinished);
  return {
    backend: db.dialect,
    stats: () => writer.stats(),
    usage: async (query) => {
      await writer.migrated();
      return store.usage(query);
    },
    close: async () => {
      unsubscribe('lightport:request:finished', onFinished);
      await writer.close();
    },
  };
}

class QueuedWriter {
  readonly #store: RequestLogStore;
  readonly #config: RequestLogConfig;
  readonly #logger: Logger;
  /** Batches waiting to be written, oldest first; rows are added to the last. */
  readonly #batches: EncodedRows[] = [];
  #queued = 0;
  #flushing: Promise<void> | undefined;
  #migration: Promise<void> | undefined;
  #failing = false;
  #flushScheduled = false;
  #written = 0;
  #droppedQueueFull = 0;
  #droppedError = 0;
  /** Set while records wait: an idle gateway has no flush timer to wake it. */
  #flushTimer: NodeJS.Timeout | undefined;
  readonly #pruneTimer: NodeJS.Timeout;
  readonly #flushWaiting = (): void => {
    this.#flushTimer = undefined;
    void this.#flush();
  };

  constructor(store: RequestLogStore, config: RequestLogConfig, logger: Logger) {
    this.#store = store;
    this.#config = config;
    this.#logger = logger;
    this.#pruneTimer = setInterval(() => void this.#prune(), PRUNE_EVERY_MS).unref();
    void this.migrated().then(
      () => this.#prune(),
      () => {},
    );
  }

  add(row: SqlValue[]): void {
    if (this.#queued >= this.#config.queue_size) {
      this.#droppedQueueFull++;
      return;
    }
    let batch = this.#batches.at(-1);
    if (batch === undefined || batch.count >= this.#config.batch_size) {
      batch = new EncodedRows();
      this.#batches.push(batch);
    }
    batch.push(row);
    this.#queued++;
    // The oldest waiting record goes out within flush_ms.
    this.#flushTimer ??= setTimeout(this.#flushWaiting, this.#config.flush_ms).unref();
    if (batch.count >= this.#config.batch_size && !this.#flushScheduled && this.#flushing === undefined) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        void this.#flush();
      });
    }
  }

  stats(): RequestLogStats {
    return {
      written: this.#written,
      droppedQueueFull: this.#droppedQueueFull,
      droppedError: this.#droppedError,
      queued: this.#queued,
    };
  }

  /** Runs the migrations once; after a failure the next call tries again. */
  migrated(): Promise<void> {
    this.#migration ??= this.#store.migrate().catch((error: unknown) => {
      this.#migration = undefined;
      throw error;
    });
    return this.#migration;
  }

  async close(): Promise<void> {
    clearTimeout(this.#flushTimer);
    clearInterval(this.#pruneTimer);
    const grace = new Promise<void>((done) => setTimeout(done, CLOSE_GRACE_MS).unref());
    await Promise.race([this.#drain(), grace]);
    await this.#store.close().catch(() => {});
  }

  async #drain(): Promise<void> {
    while (this.#queued > 0 || this.#flushing) await this.#flush();
  }

  #flush(): Promise<void> {
    this.#flushing ??= this.#writeBatches().finally(() => {
      this.#flushing = undefined;
      // Records left behind (the store failed, or more came meanwhile) are tried again after flush_ms.
      if (this.#queued > 0) this.#flushTimer ??= setTimeout(this.#flushWaiting, this.#config.flush_ms).unref();
    });
    return this.#flushing;
  }

  async #writeBatches(): Promise<void> {
    let batch: EncodedRows | undefined;
    while ((batch = this.#batches.shift()) !== undefined) {
      this.#queued -= batch.count;
      try {
        await this.migrated();
        await this.#store.insert(batch);
        this.#written += batch.count;
        if (this.#failing) this.#logger.info('request-log store: writing again');
        this.#failing = false;
      } catch (error) {
        this.#droppedError += batch.count;
        if (!this.#failing) this.#logger.warn({ err: (error as Error).message }, 'request-log store unavailable: dropping records');
        this.#failing = true;
        return;
      }
    }
  }

  async #prune(): Promise<void> {
    try {
      await this.migrated();
      await this.#store.prune(Date.now() - this.#config.retention_days * DAY_MS);
    } catch {
      // the store is down; the write path counts that
    }
  }
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

function toRecord(event: RequestFinished, bodies: BodyRenderer): RequestRecord {
  const { request, response } = bodies.render(event);
  const usage = event.usage;
  return {
    id: event.requestId,
    ts: Math.round(event.startedAt),
    key_name: event.keyName ?? null,
    user_id: event.user ?? null,
    operation: event.operation ?? null,
    model: event.model ?? null,
    provider: event.provider ?? null,
    provider_type: event.providerType ?? null,
    upstream_model: event.upstreamModel ?? null,
    status: event.status,
    streaming: event.streaming ? 1 : 0,
    attempts: event.attempts.length,
    duration_ms: round(event.durationMs),
    ttft_ms: event.firstByteMs === undefined ? null : round(event.firstByteMs),
    overhead_ms: round(Math.max(0, event.durationMs - event.upstreamMs)),
    prompt_tokens: usage?.prompt_tokens ?? null,
    completion_tokens: usage?.completion_tokens ?? null,
    cached_tokens: usage?.cached_tokens ?? null,
    reasoning_tokens: usage?.reasoning_tokens ?? null,
    cost_usd: event.costUsd ?? null,
    error_code: event.errorCode ?? null,
    request_body: request ?? null,
    response_body: response ?? null,
  };
}
