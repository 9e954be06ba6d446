import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import type { Config } from '../config/schema.ts';
import { subscribeAccessLog } from '../observability/access-log.ts';
import { requestFinished, type RequestFinished } from '../observability/events.ts';
import type { Logger } from '../observability/logger.ts';
import type { RequestContext } from '../pipeline/context.ts';
import { handleCountTokens, handleMessages } from '../ingress/anthropic/handler.ts';
import { ANTHROPIC_FORMAT } from '../ingress/anthropic/format.ts';
import { handleCompletions } from '../ingress/completions/handler.ts';
import { OPENAI_FORMAT } from '../ingress/openai-format.ts';
import { responsesIngress } from '../ingress/responses/handler.ts';
import { openResponsesStore } from '../state/open-responses-store.ts';
import { sendGatewayError } from '../pipeline/deliver.ts';
import type { WireFormat } from '../pipeline/wire-format.ts';
import { handleChatCompletions, handleEmbeddings, type PipelineDeps } from '../pipeline/handlers.ts';
import { buildProvider } from '../providers/catalog.ts';
import { PassthroughProviders } from '../providers/passthrough.ts';
import type { Provider } from '../providers/types.ts';
import { ModelResolver } from '../router/resolve.ts';
import { readJsonBody } from './body.ts';
import { applyCors } from './cors.ts';
import { GatewayError, toGatewayError } from './errors.ts';
import { sendJson } from './respond.ts';
import { RouteTable } from './routes.ts';

export interface Gateway {
  readonly server: Server;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly skipped: ReadonlyMap<string, string>;
  readonly resolver: ModelResolver;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes. */
  shutdown(): Promise<{ readonly drained: boolean }>;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createGateway(config: Config, logger: Logger): Gateway {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 256 });
  const providers = new Map<string, Provider>();
  const skipped = new Map<string, string>();
  for (const [name, providerConfig] of Object.entries(config.providers)) {
    const built = buildProvider(name, providerConfig, dispatcher, config.server.request_timeout_ms);
    if ('provider' in built) providers.set(name, built.provider);
    else skipped.set(name, built.skipped);
  }
  const resolver = new ModelResolver(config, providers, skipped);
  const passthrough = config.passthrough.enabled
    ? new PassthroughProviders(config.passthrough, dispatcher, config.server.request_timeout_ms)
    : undefined;
  const deps: PipelineDeps = { resolver, passthrough, providers };
  const bodyLimit = config.server.body_limit;
  const unsubscribeAccessLog = subscribeAccessLog(logger);
  const responsesStore = openResponsesStore(config.responses);
  const responses = responsesIngress(responsesStore);

  let listening = false;
  let draining = false;
  const inFlight = new Set<RequestContext>();

  const withBody =
    (handler: (context: RequestContext, deps: PipelineDeps, body: unknown) => Promise<void>, format?: WireFormat) =>
    async (context: RequestContext) => {
      // Set before the body is read, so even unreadable JSON is refused in the caller's API's error shape.
      if (format !== undefined) context.format = format;
      await handler(context, deps, await readJsonBody(context.req, bodyLimit));
    };

  const routes = new RouteTable()
    .add('POST', '/v1/chat/completions', withBody(handleChatCompletions))
    .add('POST', '/v1/embeddings', withBody(handleEmbeddings))
    .add('POST', '/v1/messages', withBody(handleMessages, ANTHROPIC_FORMAT))
    .add('POST', '/v1/messages/count_tokens', withBody(handleCountTokens, ANTHROPIC_FORMAT))
    .add('POST', '/v1/responses', withBody(responses.create))
    .addPrefix('GET', '/v1/responses/', (context) => responses.retrieve(context, deps))
    .addPrefix('DELETE', '/v1/responses/', (context) => responses.remove(context, deps))
    .add('POST', '/v1/completions', withBody(handleCompletions, OPENAI_FORMAT))
    .add('GET', '/v1/models', (context) =>
      sendJson(
        context.res,
        200,
        { object: 'list', data: resolver.list().map((model) => ({ ...model, object: 'model', created: 0 })) },
        context.headers,
      ),
    )
    .add('GET', '/healthz', (context) => sendJson(context.res, 200, { status: 'ok' }, context.headers))
    .add('GET', '/readyz', (context) =>
      sendJson(
        context.res,
        listening && !draining ? 200 : 503,
        { status: listening && !draining ? 'ready' : 'not_ready', providers: providers.size, models: resolver.modelNames.length },
        context.headers,
      ),
    );

  const handle = async (context: RequestContext): Promise<void> => {
    const { req, res } = context;
    if (applyCors(config.server.cors, req, res)) return;
    if (draining) {
      context.headers['connection'] = 'close';
      throw new GatewayError('shutting_down', 'The gateway is shutting down; retry on another instance.');
    }
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const route = routes.match(req.method ?? 'GET', path);
    if (route === undefined) {
      const model = path.startsWith('/v1/models/') ? decodeURIComponent(path.slice('/v1/models/'.length)) : undefined;
      if (model !== undefined && req.method === 'GET') return describeModel(context, model);
      throw new GatewayError('route_not_found', `Unknown route: ${req.method} ${path}.`);
    }
    if (typeof route !== 'function') {
      context.headers['allow'] = route.allowed.join(', ');
      throw new GatewayError('method_not_allowed', `${req.method} is not allowed on ${path}; use ${route.allowed.join(' or ')}.`);
    }
    await route(context);
  };

  const describeModel = (context: RequestContext, model: string): void => {
    const target = resolver.resolve(model);
    sendJson(context.res, 200, { id: model, object: 'model', created: 0, owned_by: target.provider.name }, context.headers);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const incomingId = req.headers['x-request-id'];
    const id = typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const context: RequestContext = {
      id,
      req,
      res,
      startedAt: performance.now(),
      abort: new AbortController(),
      headers: { 'x-request-id': id },
    };
    inFlight.add(context);
    const deadline = setTimeout(() => context.abort.abort('deadline'), config.server.request_timeout_ms);
    // The request is reported once the response has closed and the pipeline has finished with it.
    let pending = 2;
    const settleOne = (): void => {
      if (--pending === 0) publishFinished(context);
    };
    res.once('close', () => {
      clearTimeout(deadline);
      inFlight.delete(context);
      if (!res.writableFinished) context.abort.abort('client_closed');
      settleOne();
    });
    handle(context)
      .catch((error: unknown) => {
        const gatewayError = toGatewayError(error);
        if (gatewayError.code === 'internal_error') logger.error({ err: error, request_id: id }, 'request failed');
        if (gatewayError.code === 'body_too_large') context.headers['connection'] = 'close';
        sendGatewayError(context, gatewayError);
      })
      .finally(settleOne);
  };

  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, onRequest);
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });

  return {
    server,
    providers,
    skipped,
    resolver,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          listening = true;
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    shutdown: async () => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const drained = await waitUntil(() => inFlight.size === 0, config.server.shutdown_grace_ms);
      if (!drained) {
        // Past the grace period: end what is left with an error event rather than a cut socket.
        for (const context of inFlight) context.abort.abort('shutdown');
        await waitUntil(() => inFlight.size === 0, 500);
      }
      server.closeAllConnections();
      await closed;
      unsubscribeAccessLog();
      await Promise.all([
        dispatcher.close(),
        passthrough?.close(),
        responsesStore.close(),
        ...[...providers.values()].map((provider) => provider.close()),
      ]);
      return { drained };
    },
  };
}

function publishFinished(context: RequestContext): void {
  if (!requestFinished.hasSubscribers) return;
  const event: RequestFinished = {
    requestId: context.id,
    method: context.req.method ?? 'GET',
    path: context.req.url ?? '/',
    status: context.res.statusCode,
    completed: context.res.writableFinished,
    streaming: context.streaming === true,
    durationMs: Math.round((performance.now() - context.startedAt) * 100) / 100,
    ...(context.model === undefined ? {} : { model: context.model }),
    ...(context.provider === undefined ? {} : { provider: context.provider }),
    ...(context.upstreamModel === undefined ? {} : { upstreamModel: context.upstreamModel }),
    ...(context.usage === undefined ? {} : { usage: context.usage }),
  };
  requestFinished.publish(event);
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
