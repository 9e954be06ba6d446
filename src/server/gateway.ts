import { createServer, maxHeaderSize, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Buffer } from 'node:buffer';
import type { AddressInfo } from 'node:net';
import { watchConfigFile } from '../config/watch.ts';
import type { StartupProblem } from '../config/load.ts';
import type { InterpolatedValue } from '../config/interpolate.ts';
import type { Config } from '../config/schema.ts';
import { cachePurgeHandler } from '../cache/admin.ts';
import { createLimits } from '../limits/build.ts';
import { modelNotAllowed } from '../limits/refusals.ts';
import { CacheStage } from '../cache/stage.ts';
import { embedThroughRoutes } from '../pipeline/embed-through-routes.ts';
import { McpStage } from '../mcp/stage.ts';
import type { Operation } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import { startObservers } from '../observability/observers.ts';
import { Pricing } from '../observability/pricing.ts';
import { createRequestContext, type RequestContext } from '../pipeline/context.ts';
import { handleCountTokens, handleMessages } from '../ingress/anthropic/handler.ts';
import { ANTHROPIC_FORMAT } from '../ingress/anthropic/format.ts';
import { RESPONSES_FORMAT } from '../ingress/responses/format.ts';
import { handleCompletions } from '../ingress/completions/handler.ts';
import { OPENAI_FORMAT } from '../ingress/openai-format.ts';
import { responsesIngress } from '../ingress/responses/handler.ts';
import { openResponsesStore } from '../state/open-responses-store.ts';
import { sendGatewayError } from '../pipeline/finish.ts';
import { publishFinished } from '../pipeline/finished.ts';
import type { WireFormat } from '../pipeline/wire-format.ts';
import { handleChatCompletions, handleEmbeddings, type PipelineDeps } from '../pipeline/handlers.ts';
import { PassthroughProviders } from '../providers/passthrough.ts';
import { startActiveProbes } from '../router/active-probes.ts';
import { HealthMap } from '../router/health-map.ts';
import { SharedCircuits } from '../router/shared-circuits.ts';
import { addAdminRoutes } from './admin.ts';
import { readJsonBody } from './body.ts';
import { applyCors } from './cors.ts';
import { DeadlineSweep } from './deadlines.ts';
import { InFlightRequests } from './in-flight.ts';
import { GatewayError, toGatewayError } from './errors.ts';
import { startMetricsListener, type MetricsListener } from './metrics-endpoint.ts';
import { sendJson } from './respond.ts';
import { RouteTable } from './routes.ts';
import { circuitSettings, RoutingRuntime } from './routing-runtime.ts';
import { handleUsage } from './usage-api.ts';
import { newRequestId } from './request-id.ts';
import { requestHeader } from './request-headers.ts';
import { performance } from 'node:perf_hooks';
import { decodePathSegment } from './path-segment.ts';

export interface Gateway {
  readonly server: Server;
  readonly runtime: RoutingRuntime;
  /** Connects MCP servers (checking their tool lists) and starts auth & limits; returns problems that stop start-up. */
  prepare(): Promise<readonly StartupProblem[]>;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Where metrics are served when metrics.port is set. */
  metricsAddress(): AddressInfo | undefined;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes. */
  shutdown(): Promise<{ readonly drained: boolean }>;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface GatewayOptions {
  /** The file the config came from; watched for changes when server.watch_config is on. */
  readonly configFile?: string;
  /** That file's text as the config was read from it. */
  readonly configText?: string;
  /** What `${VAR}` references put where in that file (see `ConfigResult`): some of it is secret. */
  readonly interpolated?: readonly InterpolatedValue[];
}

/** Sections a running gateway cannot change; a reload that changes them says a restart is needed. */
const RESTART_SECTIONS = ['server', 'logging', 'passthrough', 'mcp', 'responses', 'auth', 'limits', 'budgets', 'state'] as const;

export function createGateway(config: Config, logger: Logger, options: GatewayOptions = {}): Gateway {
  const runtime = new RoutingRuntime(config);
  const dispatcher = runtime.dispatcher(config.router.timeouts.connect_ms);
  const passthrough = config.passthrough.enabled
    ? new PassthroughProviders(config.passthrough, dispatcher, config.server.request_timeout_ms)
    : undefined;
  const passthroughHealth = new HealthMap({ ...circuitSettings(config), enabled: false });
  const mcp = new McpStage(config.mcp, { logger, dispatcher });
  const cache = config.cache.enabled ? new CacheStage(config.cache, logger, embedThroughRoutes(runtime)) : undefined;
  const limits = createLimits(config, logger, { adminKey: () => runtime.config.admin.key });
  const deps: PipelineDeps = {
    routing: runtime,
    passthrough,
    passthroughHealth,
    limits: limits?.stage,
    mcp,
    pricing: new Pricing(config.pricing),
    ...(cache === undefined ? {} : { cache }),
  };
  /** Loads stored keys and spend and connects Redis; a failure is a start-up problem, not a crash. */
  const startLimits = (): Promise<StartupProblem | undefined> =>
    limits === undefined
      ? Promise.resolve(undefined)
      : limits.start().then(
          () => undefined,
          (error: unknown) => ({ path: ['state'], message: `auth/limits could not start: ${(error as Error).message}` }),
        );
  const bodyLimit = config.server.body_limit;
  const responsesStore = openResponsesStore(config.responses);
  const responses = responsesIngress(responsesStore);
  const redis = config.router.redis;
  const shared =
    redis === undefined ? undefined : new SharedCircuits(runtime.health, { url: redis.url, keyPrefix: redis.key_prefix }, logger);
  const probes = startActiveProbes(runtime);

  let listening = false;
  let draining = false;
  const inFlight = new InFlightRequests();
  const deadlines = new DeadlineSweep(inFlight);
  const observers = startObservers(config, logger, { inFlight: () => inFlight.size, interpolated: options.interpolated });

  const apply = (next: Config, source: string, interpolated?: readonly InterpolatedValue[]): string[] => {
    // Before the new providers are used: a body that echoes one of the new secrets is redacted.
    observers.configChanged(next, interpolated);
    const running = runtime.config;
    const restartNeeded: string[] = RESTART_SECTIONS.filter(
      (section) => JSON.stringify(running[section]) !== JSON.stringify(next[section]),
    );
    if (JSON.stringify(running.router.redis) !== JSON.stringify(next.router.redis)) restartNeeded.push('router.redis');
    runtime.apply(next);
    probes.configChanged();
    logger.info({ source, models: Object.keys(next.models).length, restart_needed: restartNeeded }, 'config applied');
    return restartNeeded;
  };
  const watcher =
    options.configFile !== undefined && config.server.watch_config
      ? watchConfigFile(options.configFile, options.configText, (result) => {
          if (result.ok) apply(result.config, result.file, result.interpolated);
          else logger.error({ file: result.file, problems: result.problems }, 'config change refused; the running config stays');
        })
      : undefined;

  let metricsListener: MetricsListener | undefined;

  const withBody =
    (
      operation: Operation | undefined,
      handler: (context: RequestContext, deps: PipelineDeps, body: unknown) => Promise<void>,
      format?: WireFormat,
    ) =>
    (context: RequestContext): Promise<void> => {
      if (operation !== undefined) context.operation = operation;
      // Set before the body is read, so even unreadable JSON is refused in the caller's API's error shape.
      if (format !== undefined) context.format = format;
      return readJsonBody(context, bodyLimit, true).then((body) => handler(context, deps, body));
    };

  const routes = new RouteTable();
  if (cache !== undefined) {
    // admin.key of the running config: a reload may change it.
    routes.add('POST', '/admin/cache/purge', cachePurgeHandler(cache, { adminKey: () => runtime.config.admin.key, bodyLimit }));
  }
  routes
    .add('POST', '/v1/chat/completions', withBody('chat', handleChatCompletions))
    .add('POST', '/v1/embeddings', withBody('embeddings', handleEmbeddings))
    .add('POST', '/v1/messages', withBody('chat', handleMessages, ANTHROPIC_FORMAT))
    .add('POST', '/v1/messages/count_tokens', withBody(undefined, handleCountTokens, ANTHROPIC_FORMAT))
    .add('POST', '/v1/responses', withBody('chat', responses.create, RESPONSES_FORMAT))
    .addPrefix('GET', '/v1/responses/', (context) => responses.retrieve(context, deps))
    .addPrefix('DELETE', '/v1/responses/', (context) => responses.remove(context, deps))
    .add('POST', '/v1/completions', withBody('chat', handleCompletions, OPENAI_FORMAT))
    .add('GET', '/v1/usage', (context) => handleUsage(context, runtime.config.admin.key, observers.requestLog))
    .add('GET', '/v1/models', (context) =>
      sendJson(
        context.res,
        200,
        {
          object: 'list',
          data: runtime.current
            .list()
            .filter((model) => context.key?.allowsModel(model.id) ?? true)
            .map((model) => ({ ...model, object: 'model', created: 0 })),
        },
        context.headers,
      ),
    )
    .add('GET', '/healthz', (context) => sendJson(context.res, 200, { status: 'ok' }, context.headers))
    .add('GET', '/readyz', (context) =>
      sendJson(
        context.res,
        listening && !draining ? 200 : 503,
        {
          status: listening && !draining ? 'ready' : 'not_ready',
          providers: runtime.current.providers.size,
          models: runtime.current.modelNames.length,
        },
        context.headers,
      ),
    );
  const { metrics } = observers;
  if (metrics && config.metrics.port === undefined) {
    routes.add('GET', config.metrics.path, async (context) => {
      const text = await metrics.render();
      context.res.writeHead(200, { ...context.headers, 'content-type': metrics.contentType });
      context.res.end(text);
    });
  }
  addAdminRoutes(routes, { runtime, bodyLimit, apply });

  // Not async: the route's own promise is the request's (an async frame here would add one per
  // request); what it throws at once, onRequest turns into a rejection.
  const handle = (context: RequestContext): Promise<void> | void => {
    const { req, res } = context;
    if (applyCors(config.server.cors, req, res)) return;
    if (draining) {
      context.headers['connection'] = 'close';
      throw new GatewayError('shutting_down', 'The gateway is shutting down; retry on another instance.');
    }
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (limits !== undefined) {
      const admin = path.startsWith('/admin/') ? limits.admin?.match(req.method ?? 'GET', path) : undefined;
      if (admin !== undefined) return admin(context);
      // Every /v1 route but the usage API (which takes the admin key) needs a gateway key when auth is on.
      if (path.startsWith('/v1/') && path !== '/v1/usage') limits.stage.authenticate(context);
    }
    const route = routes.match(req.method ?? 'GET', path);
    if (route === undefined) {
      const model = path.startsWith('/v1/models/') ? decodePathSegment(path.slice('/v1/models/'.length)) : undefined;
      if (model !== undefined) {
        if (req.method === 'GET' || req.method === 'HEAD') return describeModel(context, model);
        context.headers['allow'] = 'GET';
        throw new GatewayError('method_not_allowed', `${req.method} is not allowed on ${path}; use GET.`);
      }
      throw new GatewayError('route_not_found', `Unknown route: ${req.method} ${path}.`);
    }
    if (typeof route !== 'function') {
      context.headers['allow'] = route.allowed.join(', ');
      throw new GatewayError('method_not_allowed', `${req.method} is not allowed on ${path}; use ${route.allowed.join(' or ')}.`);
    }
    return route(context);
  };

  const describeModel = (context: RequestContext, model: string): void => {
    // As the listing leaves out, and a request is refused, a model the key may not use.
    if (context.key !== undefined && !context.key.allowsModel(model)) throw modelNotAllowed(model);
    const route = runtime.current.resolve(model);
    const owner = route.planner.targets[0]?.provider.name ?? 'lightport';
    sendJson(context.res, 200, { id: model, object: 'model', created: 0, owned_by: owner }, context.headers);
  };

  /** Settles the request's limits (with its final status and usage) and reports it: once, when it is over. */
  const settle = (context: RequestContext): void => {
    try {
      context.ticket?.settle(context);
    } catch (error) {
      // Called from the response's 'close' listener (or a promise callback), where a throw would end the process.
      logger.error({ err: error, request_id: context.id }, 'could not settle the limits');
    }
    publishFinished(context);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const incomingId = requestHeader(req, 'x-request-id');
    const id = typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : newRequestId();
    const startedAt = performance.now();
    const context = createRequestContext({
      id,
      req,
      res,
      startedAt,
      deadlineAt: startedAt + config.server.request_timeout_ms,
      bodyCapture: observers.bodyCapture(),
    });
    inFlight.add(context);
    deadlines.arm();
    // Once the response has closed and the pipeline has finished with the request, its limits are
    // settled (with the final status and usage) and it is reported.
    // A leader whose client left while others followed its stream is settled and reported once the
    // upstream call carried on for them has ended, with what that call used (`context.carried`).
    let pending = 2;
    const settleOne = (): void => {
      if (--pending !== 0) return;
      const carried = context.carried;
      if (carried === undefined) settle(context);
      else void carried.then(() => settle(context));
    };
    // 'close' comes once; on() spares the once-wrapper a request.
    res.on('close', () => {
      inFlight.delete(context);
      if (!res.writableFinished) context.abort.abort('client_closed');
      settleOne();
    });
    let handled: Promise<void>;
    try {
      handled = Promise.resolve(handle(context));
    } catch (error) {
      handled = Promise.reject(error);
    }
    handled.then(settleOne, (error: unknown) => {
      const gatewayError = toGatewayError(error);
      if (gatewayError.code === 'internal_error') logger.error({ err: error, request_id: id }, 'request failed');
      if (gatewayError.code === 'body_too_large' || gatewayError.code === 'request_timeout') context.headers['connection'] = 'close';
      try {
        sendGatewayError(context, gatewayError);
      } catch (sendError) {
        // Nothing may escape this handler: an unhandled rejection would end the process.
        logger.error({ err: sendError, request_id: id }, 'could not send the error answer');
        res.destroy();
      } finally {
        settleOne();
      }
    });
  };

  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, onRequest);
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    // Refused by node:http's parser, before any route: still an answer in OpenAI's error shape.
    const refusal = parserRefusal(error.code);
    const body = JSON.stringify({ error: { message: refusal.message, type: refusal.type, param: null, code: refusal.code } });
    const statusLine = refusal.statusLine;
    socket.end(
      `HTTP/1.1 ${statusLine}\r\nconnection: close\r\ncontent-type: application/json\r\nx-request-id: ${newRequestId()}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });

  return {
    server,
    runtime,
    prepare: async () => {
      await cache?.start();
      const [problems, limitsProblem] = await Promise.all([mcp.start(), startLimits()]);
      return limitsProblem === undefined ? problems : [...problems, limitsProblem];
    },
    listen: async (port, host) => {
      await observers.ready;
      if (metrics && config.metrics.port !== undefined) {
        metricsListener = await startMetricsListener(metrics, config.metrics, config.metrics.host ?? host);
      }
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          listening = true;
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    metricsAddress: () => metricsListener?.address,
    shutdown: async () => {
      draining = true;
      watcher?.close();
      probes.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const drained = await waitUntil(() => inFlight.size === 0, config.server.shutdown_grace_ms);
      if (!drained) {
        // Past the grace period: end what is left with an error event rather than a cut socket.
        for (const context of inFlight) context.abort.abort('shutdown');
        await waitUntil(() => inFlight.size === 0, 500);
      }
      server.closeAllConnections();
      deadlines.stop();
      await closed;
      await Promise.all([
        observers.close(),
        metricsListener?.close(),
        mcp.close(),
        limits?.close(),
        cache?.close(),
        runtime.close(),
        passthrough?.close(),
        shared?.close(),
        responsesStore.close(),
      ]);
      return { drained };
    },
  };
}

/** What node:http's parser refused (before any route ran), as an answer in OpenAI's error shape. */
function parserRefusal(code: string | undefined): { statusLine: string; type: string; code: string; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return {
      statusLine: '431 Request Header Fields Too Large',
      type: 'invalid_request_error',
      code: 'headers_too_large',
      message: `The request's headers are larger than the ${maxHeaderSize} bytes this server accepts.`,
    };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      statusLine: '408 Request Timeout',
      type: 'timeout_error',
      code: 'request_timeout',
      message: 'The request headers did not arrive in time.',
    };
  }
  return {
    statusLine: '400 Bad Request',
    type: 'invalid_request_error',
    code: 'malformed_http_request',
    message: `The request is not valid HTTP/1.1 (${code ?? 'parse error'}): check the method, the request line and the headers.`,
  };
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
