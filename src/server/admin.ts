import { validateConfigData } from '../config/load.ts';
import type { YamlPath } from '../config/locate.ts';
import type { Config } from '../config/schema.ts';
import type { RequestContext } from '../pipeline/context.ts';
import type { RoutingRuntime } from './routing-runtime.ts';
import { requireAdmin } from './admin-auth.ts';
import { readJsonBody } from './body.ts';
import { GatewayError } from './errors.ts';
import {
  hidesUrlPath,
  maskUrlPath,
  REDACTED,
  redactedArg,
  redactUrlSecrets,
  SECRET_FIELD,
  SECRET_MAPS,
  secretArgPositions,
} from '../observability/redaction.ts';
import { sendJson } from './respond.ts';
import type { RouteTable } from './routes.ts';
import { performance } from 'node:perf_hooks';

export interface AdminDeps {
  readonly runtime: RoutingRuntime;
  readonly bodyLimit: number;
  /** Applies a validated config; returns the sections that only a restart changes. */
  readonly apply: (config: Config, source: string) => string[];
}

/** `/admin/...`: read the running config and health, replace the routing section. */
export function addAdminRoutes(routes: RouteTable, deps: AdminDeps): RouteTable {
  const guarded = (handler: (context: RequestContext) => Promise<void> | void) => async (context: RequestContext) => {
    requireAdmin(context.req.headers, deps.runtime.config.admin.key);
    await handler(context);
  };
  return routes
    .add(
      'GET',
      '/admin/config',
      guarded((context) => sendJson(context.res, 200, redact(deps.runtime.config), context.headers)),
    )
    .add(
      'GET',
      '/admin/health',
      guarded((context) => sendJson(context.res, 200, { targets: healthReport(deps.runtime) }, context.headers)),
    )
    .add(
      'PUT',
      '/admin/routing',
      guarded(async (context) => {
        const body = await readJsonBody(context, deps.bodyLimit);
        const config = validateRouting(deps.runtime.config, body);
        const restartNeeded = deps.apply(config, 'admin API');
        sendJson(
          context.res,
          200,
          { status: 'applied', models: Object.keys(config.models), restart_needed: restartNeeded },
          context.headers,
        );
      }),
    );
}

/** The running config with `models` and `router` replaced by the body's, validated like the file. */
function validateRouting(running: Config, body: unknown): Config {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('models' in body)) {
    throw new GatewayError('invalid_config', 'The body must be a JSON object with "models" (and optionally "router").', {
      param: 'models',
    });
  }
  const { models, router, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw new GatewayError('invalid_config', `Only "models" and "router" can be replaced here, not: ${unknown.join(', ')}.`);
  const result = validateConfigData({ ...running, models, router: router ?? running.router });
  if (result.ok) return result.config;
  const list = result.problems.map((problem) => `${problem.path}: ${problem.message}`).join('; ');
  throw new GatewayError('invalid_config', `The routing section was refused (${result.problems.length} problem(s)): ${list}`, {
    param: result.problems[0]?.path ?? 'models',
  });
}

function healthReport(runtime: RoutingRuntime): object[] {
  const now = performance.now();
  return [...runtime.health.entries()].map((record) => ({
    target: record.id,
    circuit: record.circuit.state,
    reopens_in_ms: Math.round(record.circuit.remainingMs(now)),
    consecutive_failures: record.circuit.consecutiveFailures,
    error_rate: Number(record.circuit.errorRate().toFixed(3)),
    latency_ms: Number(record.latencyMs.toFixed(2)),
    p95_ms: Number(record.p95Ms.toFixed(2)),
    in_flight: record.inFlight,
  }));
}

/**
 * A copy with every secret replaced and everything else readable: values of secret-named fields
 * (keys, tokens, passwords), every value of a `headers` or `env` map (names kept), URL passwords
 * and secret query values wherever a URL appears, and all but the scheme and host of the URLs
 * that often carry a token in their path or query (the budget webhook's, MCP servers', REST sources').
 */
function redact(value: unknown, path: YamlPath = []): unknown {
  const field = path.at(-1);
  if (typeof value === 'string') {
    if (typeof field === 'string' && SECRET_FIELD.test(field)) return REDACTED;
    if (hidesUrlPath(path)) return maskUrlPath(value);
    return redactUrlSecrets(value);
  }
  if (Array.isArray(value)) {
    const secretArgs = secretArgPositions(path, value);
    return value.map((item: unknown, index) =>
      secretArgs.has(index) && typeof item === 'string' ? redactedArg(item) : redact(item, [...path, index]),
    );
  }
  if (typeof value !== 'object' || value === null) return value;
  const secretMap = typeof field === 'string' && SECRET_MAPS.has(field);
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [key, secretMap && typeof child === 'string' ? REDACTED : redact(child, [...path, key])]),
  );
}
