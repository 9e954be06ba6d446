import type { Config } from '../config/schema.ts';
import { subscribeAccessLog } from './access-log.ts';
import { subscribeMcpLog } from './mcp-log.ts';
import { BodyRenderer } from './bodies.ts';
import { bodyCapturePolicy } from './body-policy.ts';
import type { BodyCapture } from './events.ts';
import type { Logger } from './logger.ts';
import { GatewayMetrics } from './metrics.ts';
import { Redactor } from './redaction.ts';
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

/** Every secret the config holds, so bodies that echo one are redacted before they are logged. */
function configSecrets(config: Config): string[] {
  const secrets: string[] = [];
  for (const provider of Object.values(config.providers)) if ('api_key' in provider && provider.api_key) secrets.push(provider.api_key);
  if (config.admin.key) secrets.push(config.admin.key);
  if (config.tracing) secrets.push(...Object.values(config.tracing.headers));
  const url = config.request_log?.postgres_url;
  if (url) {
    secrets.push(url);
    try {
      const password = new URL(url).password;
      if (password) secrets.push(decodeURIComponent(password));
    } catch {
      // not a URL: the whole string is redacted above
    }
  }
  return secrets;
}
