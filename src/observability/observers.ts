import type { Config } from '../config/schema.ts';
import { subscribeAccessLog } from './access-log.ts';
import { subscribeMcpLog } from './mcp-log.ts';
import { BodyRenderer } from './bodies.ts';
import { bodyCapturePolicy } from './body-policy.ts';
import type { BodyCapture } from './events.ts';
import type { Logger } from './logger.ts';
import { GatewayMetrics } from './metrics.ts';
import { collectSecrets, Redactor, stringSecrets } from './redaction.ts';
import { startRequestLog, type RequestLog } from './request-log.ts';
import type { Tracing } from './tracing.ts';

/** The observe stage: every subscriber the config asks for, and nothing it does not. */
export interface Observers {
  readonly metrics: GatewayMetrics | undefined;
  readonly requestLog: RequestLog | undefined;
  /** Which bodies an arriving request keeps. */
  readonly bodyCapture: () => BodyCapture;
  /** Settles once every observer is ready (the tracing libraries load only when tracing is configured). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface ObserverSources {
  readonly inFlight: () => number;
}

export function startObservers(config: Config, logger: Logger, sources: ObserverSources): Observers {
  const renderer = new BodyRenderer(new Redactor(config.logging.redact, configSecrets(config)), config.logging.max_body_bytes);
  const accessLogOn = config.logging.access_log && logger.isLevelEnabled('info');
  const unsubscribeAccessLog = accessLogOn ? subscribeAccessLog(logger, renderer) : () => {};
  const unsubscribeMcpLog = subscribeMcpLog(logger);
  const metrics = config.metrics.enabled ? new GatewayMetrics(config.metrics, sources) : undefined;
  const requestLog = config.request_log?.enabled ? startRequestLog(config.request_log, renderer, logger) : undefined;
  if (requestLog && metrics) metrics.watchRequestLog(() => requestLog.stats());
  const { tracing: tracingConfig } = config;
  const tracing: Promise<Tracing> | undefined = tracingConfig
    ? import('./tracing.ts').then((module) => module.startTracing(tracingConfig))
    : undefined;
  return {
    metrics,
    requestLog,
    bodyCapture: bodyCapturePolicy(config.logging, accessLogOn || requestLog !== undefined),
    ready: tracing ? tracing.then(() => undefined) : Promise.resolve(),
    close: async () => {
      unsubscribeAccessLog();
      unsubscribeMcpLog();
      metrics?.close();
      await Promise.all([requestLog?.close(), tracing?.then((started) => started.close())]);
    },
  };
}

/**
 * Every secret the config holds, so bodies that echo one are redacted before they are logged:
 * see `collectSecrets`. Connection strings and the budget webhook's URL are redacted whole as well,
 * and the webhook's query values and token-long path segments (often its token), and DATABASE_URL's password when the request log
 * falls back to it.
 */
export function configSecrets(config: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const secrets = collectSecrets(config);
  const databaseUrl = config.request_log?.postgres_url || (config.request_log ? env['DATABASE_URL'] : undefined);
  if (databaseUrl) secrets.push(databaseUrl, ...stringSecrets(databaseUrl));
  const webhook = config.budgets.webhook?.url;
  if (webhook) secrets.push(webhook, ...webhookTokens(webhook));
  return secrets;
}

/** Path segments long enough to be a token (Slack's, Discord's...), and every query value, of a webhook URL. */
const SHORTEST_PATH_TOKEN = 16;

function webhookTokens(webhook: string): string[] {
  try {
    const url = new URL(webhook);
    const segments = url.pathname.split('/').filter((segment) => segment.length >= SHORTEST_PATH_TOKEN);
    return [...segments, ...segments.map(decodeSegment), ...url.searchParams.values()];
  } catch {
    return [];
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
