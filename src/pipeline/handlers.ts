import type { CacheLookup, CacheStage } from '../cache/stage.ts';
import { withinLimits } from '../limits/pipeline.ts';
import { modelNotAllowed } from '../limits/refusals.ts';
import type { LimitsStage } from '../limits/stage.ts';
import type { McpStage } from '../mcp/stage.ts';
import type { McpPlan } from '../mcp/tool-loop.ts';
import type { Pricing } from '../observability/pricing.ts';
import type { PassthroughProviders } from '../providers/passthrough.ts';
import type { ChatRequest, EmbeddingsRequest, ResponseSink } from '../providers/types.ts';
import type { Target } from '../router/route.ts';
import { GatewayError } from '../server/errors.ts';
import type { HealthMap } from '../router/health-map.ts';
import { makeTarget } from '../router/build-routes.ts';
import { RoutingInput, type RoutedRequest } from '../router/routing-input.ts';
import type { RoutingTable } from '../router/routing-table.ts';
import type { RequestContext } from './context.ts';
import { deliver, type Delivery, type Send } from './deliver.ts';
import { parseChatRequest, parseEmbeddingsRequest } from './validate.ts';
import { requestHeader } from '../server/request-headers.ts';

export interface PipelineDeps {
  /** The routing generation in force; a config reload replaces it, requests keep the one they started with. */
  readonly routing: { readonly current: RoutingTable };
  readonly passthrough: PassthroughProviders | undefined;
  /** Health records for bring-your-own-key upstreams, whose circuits never open. */
  readonly passthroughHealth: HealthMap;
  /** Auth & limits; undefined when keys and limits are off. */
  readonly limits: LimitsStage | undefined;
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

/**
 * A key restricted to some models is refused any other before routing, so whether a model exists
 * (and which do, listed in a 404's hint) is never told to a key that may not use it.
 */
function refuseUnallowedModel(context: RequestContext, model: string): void {
  const key = context.key;
  if (key !== undefined && !key.allowsModel(model)) throw modelNotAllowed(model);
}

/** Route: a configured model, `<provider>/<model>`, or a provider named by header (configured, or passthrough); each target priced. */
function plan(context: RequestContext, deps: PipelineDeps, request: RoutedRequest, send: Send): Delivery {
  const table = deps.routing.current;
  const model = request.body.model;
  context.model = model;
  const named = requestHeader(context.req, 'x-lightport-provider');
  if (named !== undefined && named !== '') {
    const configured = table.providers.get(named);
    if (configured) return { targets: [table.target(configured, model)], send, pricing: deps.pricing };
    if (deps.passthrough) {
      const { provider, callerApiKey, baseUrl } = deps.passthrough.resolve(
        named,
        requestHeader(context.req, 'authorization') || undefined, // '' once the auth stage took the key
        requestHeader(context.req, 'x-lightport-base-url'),
      );
      return {
        targets: [makeTarget(provider, model, table.config.router, deps.passthroughHealth, { transient: true })],
        send,
        callerApiKey,
        passthroughUrl: baseUrl,
        pricing: deps.pricing,
      };
    }
  }
  const route = table.resolve(model);
  let targets = route.planner.fixed;
  if (targets === undefined) {
    const req = context.req;
    const input = new RoutingInput(request, (name: string) => requestHeader(req, name), context.keyName);
    targets = route.planner.plan(input);
    if (input.matchedRules !== undefined) context.routeRules = input.matchedRules;
  }
  return { targets, send, deadlineMs: route.deadlineMs, pricing: deps.pricing };
}

/**
 * What a cached answer is keyed on: the one upstream when the route has one target (with its base
 * URL for a passthrough one); when a strategy may answer from any of several targets, the public
 * model and that set of targets, so plans that routing rules chose differently never share.
 */
function cacheTarget(delivery: Delivery, model: string): { provider: string; upstreamModel: string } {
  const [only, ...others] = delivery.targets;
  if (only !== undefined && others.length === 0) {
    const upstreamModel = delivery.passthroughUrl === undefined ? only.upstreamModel : `${only.upstreamModel} ${delivery.passthroughUrl}`;
    return { provider: only.provider.name, upstreamModel };
  }
  const targets = delivery.targets.map((target) => `${target.provider.name}/${target.upstreamModel}`).toSorted();
  return { provider: 'route', upstreamModel: `${model} ${targets.join(' ')}` };
}

export function handleChatCompletions(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request: ChatRequest = parseChatRequest(body);
  observe(context, request);
  refuseUnallowedModel(context, request.model);
  // Routing comes first, so an unknown model is refused before any MCP work.
  const delivery = plan(context, deps, { kind: 'chat', body: request }, (target, options) => target.provider.chat(request, options));
  const work =
    deps.cache === undefined && deps.mcp?.involved(context, request) !== true
      ? () => deliver(context, delivery)
      : () => enrichAndDeliver(context, deps, request, delivery);
  return withinLimits(deps.limits, context, request, work);
}

/**
 * MCP enrichment (once: every retry and fallback runs the same enriched plan), then the cache,
 * then the attempts. Steps that decide at once (no MCP for this request, an in-process cache hit)
 * add no promise: a cache hit is answered in the same turn the body was parsed.
 */
function enrichAndDeliver(context: RequestContext, deps: PipelineDeps, request: ChatRequest, routed: Delivery): Promise<void> {
  const { mcp } = deps;
  if (mcp === undefined || !mcp.involved(context, request)) return cacheAndDeliver(context, deps, request, routed, undefined);
  return mcp.prepare(context, request).then((enriched) => cacheAndDeliver(context, deps, request, routed, enriched));
}

function cacheAndDeliver(
  context: RequestContext,
  deps: PipelineDeps,
  request: ChatRequest,
  routed: Delivery,
  enriched: McpPlan | undefined,
): Promise<void> {
  const send: Send = enriched === undefined ? routed.send : (target, options) => enriched.chat(target.provider, options);
  if (deps.cache === undefined) return deliver(context, { ...routed, send });
  const looked = deps.cache.lookup(context, enriched?.request ?? request, {
    ...cacheTarget(routed, request.model),
    runsTools: enriched?.runsTools === true,
    // The request is still the body as parsed (enrichment makes a new one): its key can be remembered by its text.
    bodyText: enriched === undefined ? context.bodyText : undefined,
  });
  if (!(looked instanceof Promise)) return deliverUnlessCached(context, routed, send, looked);
  // As deliver() does, now: a lookup that waits (for the shared tier, or for an identical request in flight) ends with the model's deadline too.
  if (routed.deadlineMs !== undefined) context.deadlineAt = Math.min(context.deadlineAt, context.startedAt + routed.deadlineMs);
  return looked.then((cached) => deliverUnlessCached(context, routed, send, cached));
}

function deliverUnlessCached(context: RequestContext, routed: Delivery, send: Send, cached: CacheLookup): Promise<void> {
  if (cached === 'answered') return Promise.resolve();
  const delivered = deliver(context, {
    ...routed,
    send: cached === undefined ? send : (target, options) => cached.wrap((attempt) => send(target, attempt))(options),
  });
  // Identical requests may be waiting for this one: they go on once it has ended, however it ended.
  return cached?.ended === undefined ? delivered : delivered.finally(cached.ended);
}

export async function handleEmbeddings(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request: EmbeddingsRequest = parseEmbeddingsRequest(body);
  observe(context, request);
  refuseUnallowedModel(context, request.model);
  const delivery = plan(context, deps, { kind: 'embeddings', body: request }, (target, options) =>
    target.provider.embeddings(request, options),
  );
  await withinLimits(deps.limits, context, request, () => deliver(context, delivery));
}

/**
 * A request in another API's wire format (Anthropic Messages, OpenAI Responses, legacy
 * completions), as its ingress adapter hands it to the pipeline.
 */
export interface IngressRequest {
  readonly model: string;
  /** The request as the internal chat request, or why it cannot be one (fields only its own API honors). */
  readonly chat: ChatRequest | GatewayError;
  /**
   * When `chat` is a refusal (the request can only be relayed): what routing and the limits read of
   * it, shaped as a chat request (its text, tools, the tokens it reserves, its user). Never sent.
   */
  view(): ChatRequest;
  /** The attempt that relays the request as it is, when the target's provider speaks the API itself. */
  relay(target: Target): Send | undefined;
  /** A sink that passes a chat answer on in the caller's API; a new one per attempt. */
  translate(sink: ResponseSink, target: Target): ResponseSink;
  /** Fields of `chat` this API lets the gateway drop where the target has no equivalent (`AttemptOptions.droppable`). */
  readonly droppable?: ReadonlySet<string>;
  /** False for requests no tool loop belongs to (token counting). */
  readonly enrich?: false;
}

/**
 * The same stages as chat, for another API: routing (rules read the internal chat request),
 * MCP enrichment, then attempts that relay natively where the target speaks the API and
 * translate over chat elsewhere. An enriched request always goes over chat, where the tool loop runs.
 */
export async function handleIngress(context: RequestContext, deps: PipelineDeps, ingress: IngressRequest): Promise<void> {
  const chat = ingress.chat instanceof GatewayError ? undefined : ingress.chat;
  let enriched: McpPlan | undefined;
  const send: Send = (target, options) => {
    const relay = enriched === undefined ? ingress.relay(target) : undefined;
    if (relay !== undefined) return relay(target, options);
    if (chat === undefined) throw ingress.chat;
    const translated = { ...options, sink: ingress.translate(options.sink, target), droppable: ingress.droppable };
    return enriched === undefined ? target.provider.chat(chat, translated) : enriched.chat(target.provider, translated);
  };
  const routed: ChatRequest = chat ?? ingress.view();
  refuseUnallowedModel(context, routed.model);
  const delivery = plan(context, deps, { kind: 'chat', body: routed }, send);
  await withinLimits(deps.limits, context, routed, async () => {
    if (chat !== undefined && ingress.enrich !== false) enriched = await deps.mcp?.prepare(context, chat);
    await deliver(context, delivery);
  });
}

/**
 * A request about something one provider holds (a stored response): delivered to the configured
 * provider named, or else to the one the caller names in `x-lightport-provider`. False when neither.
 */
export async function deliverToHolder(
  context: RequestContext,
  deps: PipelineDeps,
  holder: { readonly provider: string | undefined; readonly send: Send },
): Promise<boolean> {
  const table = deps.routing.current;
  const provider = holder.provider === undefined ? undefined : table.providers.get(holder.provider);
  if (provider !== undefined) {
    await deliver(context, { targets: [table.target(provider, '')], send: holder.send });
    return true;
  }
  const named = requestHeader(context.req, 'x-lightport-provider');
  if (named === undefined || named === '') return false;
  await deliver(context, plan(context, deps, { kind: 'chat', body: { model: '', messages: [] } }, holder.send));
  return true;
}
