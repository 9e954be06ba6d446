import type { PassthroughProviders } from '../providers/passthrough.ts';
import type { Provider } from '../providers/types.ts';
import type { ModelResolver } from '../router/resolve.ts';
import type { RequestContext } from './context.ts';
import { deliver, type Attempt } from './deliver.ts';
import { parseChatRequest, parseEmbeddingsRequest } from './validate.ts';

export interface PipelineDeps {
  readonly resolver: ModelResolver;
  readonly passthrough: PassthroughProviders | undefined;
  readonly providers: ReadonlyMap<string, Provider>;
}

export interface ChosenTarget {
  readonly provider: Provider;
  readonly upstreamModel: string;
  readonly callerApiKey?: string;
}

/** Route: a configured model, `<provider>/<model>`, or a passthrough named by header. */
function chooseTarget(context: RequestContext, deps: PipelineDeps, model: string): ChosenTarget {
  const named = context.req.headers['x-lightport-provider'];
  if (typeof named === 'string' && named !== '') {
    const configured = deps.providers.get(named);
    if (configured) return { provider: configured, upstreamModel: model };
    if (deps.passthrough) {
      const baseUrl = context.req.headers['x-lightport-base-url'];
      const { provider, callerApiKey } = deps.passthrough.resolve(
        named,
        context.req.headers.authorization,
        typeof baseUrl === 'string' ? baseUrl : undefined,
      );
      return { provider, upstreamModel: model, callerApiKey };
    }
  }
  return deps.resolver.resolve(model);
}

function markTarget(context: RequestContext, model: string, target: ChosenTarget): void {
  context.model = model;
  context.provider = target.provider.name;
  context.providerType = target.provider.type;
  context.upstreamModel = target.upstreamModel;
  context.headers['x-lightport-provider'] = target.provider.name;
  context.headers['x-lightport-model'] = target.upstreamModel;
}

/**
 * The stages every model request goes through, whatever its wire format: route the model to a
 * target, then deliver the attempt built for that target. Ingress adapters call this with their
 * own attempt (a native relay, or the internal chat request with a translating sink).
 */
export async function routeAndDeliver(
  context: RequestContext,
  deps: PipelineDeps,
  route: { readonly model: string; readonly attemptFor: (target: ChosenTarget) => Attempt },
): Promise<void> {
  const target = chooseTarget(context, deps, route.model);
  await deliverTo(context, target, { model: route.model, attempt: route.attemptFor(target) });
}

/** Delivers an attempt to a target already known (a stored response's provider), through the same stages. */
export async function deliverTo(
  context: RequestContext,
  target: ChosenTarget,
  request: { readonly model: string; readonly attempt: Attempt },
): Promise<void> {
  markTarget(context, request.model, target);
  await deliver(context, target.upstreamModel, request.attempt, target.callerApiKey);
}

export async function handleChatCompletions(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request = parseChatRequest(body);
  await routeAndDeliver(context, deps, {
    model: request.model,
    attemptFor: (target) => (options) => target.provider.chat(request, options),
  });
}

export async function handleEmbeddings(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request = parseEmbeddingsRequest(body);
  await routeAndDeliver(context, deps, {
    model: request.model,
    attemptFor: (target) => (options) => target.provider.embeddings(request, options),
  });
}
