import { existsSync } from 'node:fs';
import { formatProblem, loadConfigFile, locateProblems } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { createLogger } from '../observability/logger.ts';
import { PRICING_DATA_DATE } from '../observability/pricing-catalog.ts';
import { createGateway, type Gateway } from '../server/gateway.ts';
import { EXAMPLE_CONFIG, packageVersion } from './package-files.ts';

export interface StartOptions {
  readonly config: string | undefined;
  readonly port: string | undefined;
  readonly host: string | undefined;
}

/** `lightport start`: load the config, listen, and drain gracefully on SIGTERM/SIGINT. */
export async function runStart(options: StartOptions): Promise<number> {
  const file = options.config ?? (existsSync('lightport.yaml') ? 'lightport.yaml' : EXAMPLE_CONFIG);
  const result = await loadConfigFile(file);
  if (!result.ok) {
    for (const problem of result.problems) process.stderr.write(`${formatProblem(file, problem)}\n`);
    process.stderr.write(`Lightport did not start: ${result.problems.length} problem(s) in ${file}\n`);
    return 1;
  }
  const config = result.config;
  const port = options.port === undefined ? config.server.port : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be a number from 0 to 65535, not "${options.port}"\n`);
    return 2;
  }
  const host = options.host ?? config.server.host;
  const logger = createLogger(process.env['LIGHTPORT_LOG_LEVEL'] ?? config.logging.level);
  const gateway = createGateway(config, logger, { configFile: file, configText: result.text, interpolated: result.interpolated });
  const problems = await gateway.prepare();
  if (problems.length > 0) {
    for (const problem of await locateProblems(file, problems)) process.stderr.write(`${formatProblem(file, problem)}\n`);
    process.stderr.write(`Lightport did not start: ${problems.length} problem(s) in ${file}\n`);
    await gateway.shutdown();
    logger.flush();
    return 1;
  }
  // Handlers go in before the banner: a supervisor may signal as soon as it reads "listening".
  const stopped = stopSignal(gateway, logger);
  try {
    const address = await gateway.listen(port, host);
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    process.stderr.write(banner(config, gateway, `http://${shown}:${address.port}`, file));
  } catch (error) {
    process.stderr.write(`Lightport could not listen on ${host}:${port}: ${(error as Error).message}\n`);
    return 1;
  }
  const exitCode = await stopped;
  logger.flush();
  return exitCode;
}

function stopSignal(gateway: Gateway, logger: ReturnType<typeof createLogger>): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`Second ${signal}: exiting without waiting.\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`${signal} received: draining in-flight requests.\n`);
      gateway.shutdown().then(
        ({ drained }) => {
          logger.info({ drained }, 'stopped');
          process.stderr.write(
            drained ? 'Lightport stopped.\n' : 'Lightport stopped; the grace period ended before every request finished.\n',
          );
          resolve(0);
        },
        (error: unknown) => {
          process.stderr.write(`Shutdown failed: ${String(error)}\n`);
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', stop).once('SIGINT', stop);
  });
}

function banner(config: Config, gateway: Gateway, url: string, file: string): string {
  const lines = [`Lightport ${packageVersion()} listening on ${url}`, `  config:    ${file}`];
  const routing = gateway.runtime.current;
  const providers = [...routing.providers.values()].map((provider) => `${provider.name} (${provider.type})`);
  lines.push(`  providers: ${providers.join(', ') || 'none'}`);
  for (const [name, reason] of routing.skipped) {
    lines.push(`  skipped:   ${name} (${config.providers[name]?.type ?? 'unknown'}): ${reason}`);
  }
  const models = routing.modelNames.map((name) => {
    const entry = config.models[name];
    const targets = routing.resolve(name).planner.targets.map((target) => target.id);
    const strategy = entry?.strategy ?? 'single';
    return strategy === 'single' ? `${name} -> ${targets.join('')}` : `${name} -> ${strategy}(${targets.join(', ')})`;
  });
  lines.push(`  models:    ${models.join(', ') || 'none'}`);
  const metrics = gateway.metricsAddress();
  if (metrics) lines.push(`  metrics:   http://${metrics.address}:${metrics.port}${config.metrics.path}`);
  const overrides = Object.keys(config.pricing.models).length;
  lines.push(`  pricing:   bundled catalog of ${PRICING_DATA_DATE}${overrides > 0 ? `, ${overrides} override(s)` : ''}`);
  lines.push(
    `  also:      <provider>/<model> for any provider above${config.passthrough.enabled ? '; x-lightport-provider passthrough on' : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
