import type { InterpolatedValue } from '../config/interpolate.ts';
import type { Config } from '../config/schema.ts';
import { subscribeAccessLog } from './access-log.ts';
import { subscribeDroppedFieldLog } from './dropped-field-log.ts';
import { subscribeMcpLog } from './mcp-log.ts';
import { BodyRenderer } from './bodies.ts';
import { bodyCapturePolicy } from './body-policy.ts';
import type { BodyCapture } from './events.ts';
import type { Logger } from './logger.ts';
import { GatewayMetrics } from './metrics.ts';
import { collectSecrets, interpolatedSecrets, Redactor, stringSecrets } from './redaction.ts';
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
  /** Teaches redaction the secrets a reloaded config holds; those of earlier versions stay known. */
  configChanged(config: Config, interpolated?: readonly InterpolatedValue[]): void;
  close(): Promise<void>;
}

export interface ObserverSources {
  readonly inFlight: () => number;
  /** What `${VAR}` references put where in the config, as it was loaded: for redaction. */
  readonly interpolated?: readonly InterpolatedValue[];
}

export function startObservers(config: Config, logger: Logger, sources: ObserverSources): Observers {
  const redactor = new Redactor(config.logging.redact, configSecrets(config, process.env, sources.interpolated));
  const renderer = new BodyRenderer(redactor, config.logging.max_body_bytes);
  const accessLogOn = config.logging.access_log && logger.isLevelEnabled('info');
  const unsubscribeAccessLog = accessLogOn ? subscribeAccessLog(logger, renderer) : () => {};
  const unsubscribeMcpLog = subscribeMcpLog(logger);
  const unsubscribeDroppedFieldLog = subscribeDroppedFieldLog(logger);
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
    configChanged: (next, interpolated) => redactor.addSecrets(configSecrets(next, process.env, interpolated)),
    close: async () => {
      unsubscribeAccessLog();
      unsubscribeMcpLog();
      unsubscribeDroppedFieldLog();
      metrics?.close();
      await Promise.all([requestLog?.close(), tracing?.then((started) => started.close())]);
    },
  };
}

/**
 * Every secret the config holds, so bodies that echo one are redacted before they are logged:
 * see `collectSecrets`, and the values `${VAR}` put into URLs whose path is hidden (the budget
 * webhook's, MCP servers', REST sources'). Connection strings are redacted whole as well, and
 * DATABASE_URL's password when the request log falls back to it.
 */
export function configSecrets(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  interpolated: readonly InterpolatedValue[] = [],
): string[] {
  const secrets = collectSecrets(config);
  const databaseUrl = config.request_log?.postgres_url || (config.request_log ? env['DATABASE_URL'] : undefined);
  if (databaseUrl) secrets.push(databaseUrl, ...stringSecrets(databaseUrl));
  secrets.push(...interpolatedSecrets(config, interpolated));
  return secrets;
}
