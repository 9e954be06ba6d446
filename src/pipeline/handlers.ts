import type { CacheStage } from '../cache/stage.ts';
import type { McpStage } from '../mcp/stage.ts';
import type { McpPlan } from '../mcp/tool-loop.ts';
import type { Pricing } from '../observability/pricing.ts';
import type { PassthroughProviders } from '../providers/passthrough.ts';
import type { ChatRequest, EmbeddingsRequest } from '../providers/types.ts';
import type { HealthMap } from '../router/health-map.ts';
import { makeTarget } from '../router/build-routes.ts';
import { RoutingInput, type RoutedRequest } from '../router/routing-input.ts';
import type { RoutingTable } from '../router/routing-table.ts';
import type { RequestContext } from './context.ts';
import { deliver, type Delivery, type Send } from './deliver.ts';
import { parseChatRequest, parseEmbeddingsRequest } from './validate.ts';

export interface PipelineDeps {
  /** The routing generation in force; a config reload replaces it, requests keep the one they started with. */
  readonly routing: { readonly current: RoutingTable };
  readonly passthrough: PassthroughProviders | undefined;
  /** Health records for bring-your-own-key upstreams, whose circuits never open. */
  readonly passthroughHealth: HealthMap;
  /** The enrich stage (MCP context and the tool loop). */
  readonly mcp?: McpStage;
  /** The cache stage; absent when the cache is off. */
  readonly cache?: CacheStage;
  readonly pricing: Pricing;
}

/** Notes what the observers want from the body: its `user`, and the body itself when bodies are kept. */
function observe(context: RequestContext, body: ChatRequest | EmbeddingsRequest): void {
  if (typeof body['user'] === 'string') context.user = body['user'];
  if (context.bodyCapture !== 'off') context.requestBody = body;
}

/** The plan, with each target's price for the answer's cost. */
function priced(delivery: Delivery, pricing: Pricing): Delivery {
  return { ...delivery, price: (target) => pricing.lookup(target.provider.name, target.provider.type, target.upstreamModel) };
}

/** Route: a configured model, `<provider>/<model>`, or a provider named by header (configured, or passthrough). */
function plan(context: RequestContext, deps: PipelineDeps, request: RoutedRequest, send: Send): Delivery {
  const table = deps.routing.current;
  const model = request.body.model;
  context.model = model;
  const named = context.req.headers['x-lightport-provider'];
  if (typeof named === 'string' && named !== '') {
    const configured = table.providers.get(named);
    if (configured) return { targets: [table.target(configured, model)], send };
    if (deps.passthrough) {
      const baseUrl = context.req.headers['x-lightport-base-url'];
      const { provider, callerApiKey } = deps.passthrough.resolve(
        named,
        context.req.headers.authorization,
        typeof baseUrl === 'string' ? baseUrl : undefined,
      );
      return {
        targets: [makeTarget(provider, model, table.config.router, deps.passthroughHealth, { transient: true })],
        send,
        callerApiKey,
      };
    }
  }
  const route = table.resolve(model);
  const targets = route.planner.fixed ?? route.planner.plan(new RoutingInput(request, context.req.headers, context.keyName));
  return route.deadlineMs === undefined ? { targets, send } : { targets, send, deadlineMs: route.deadlineMs };
}

/**
 * What a cached answer is keyed on: the one upstream when the route has one target; the
 * public model when a strategy may answer from any of its targets.
 */
function cacheTarget(delivery: Delivery, model: string): { provider: string; upstreamModel: string } {
  const [only, ...others] = delivery.targets;
  if (only !== undefined && others.length === 0) return { provider: only.provider.name, upstreamModel: only.upstreamModel };
  return { provider: 'route', upstreamModel: model };
}

export async function handleChatCompletions(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request: ChatRequest = parseChatRequest(body);
  observe(context, request);
  // Routing comes first, so an unknown model is refused before any MCP work.
  let enriched: McpPlan | undefined;
  const send: Send = (target, options) =>
    enriched === undefined ? target.provider.chat(request, options) : enriched.chat(target.provider, options);
  const delivery = priced(plan(context, deps, { kind: 'chat', body: request }, send), deps.pricing);
  // Enriched once; every retry and fallback runs the same enriched plan.
  enriched = await deps.mcp?.prepare(context, request);
  const cached = await deps.cache?.lookup(context, enriched?.request ?? request, {
    ...cacheTarget(delivery, request.model),
    runsTools: enriched?.runsTools === true,
  });
  if (cached === 'answered') return;
  await deliver(
    context,
    cached === undefined ? delivery : { ...delivery, send: (target, options) => cached.wrap((attempt) => send(target, attempt))(options) },
  );
}

export async function handleEmbeddings(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request: EmbeddingsRequest = parseEmbeddingsRequest(body);
  observe(context, request);
  const delivery = plan(context, deps, { kind: 'embeddings', body: request }, (target, options) =>
    target.provider.embeddings(request, options),
  );
  await deliver(context, priced(delivery, deps.pricing));
}
