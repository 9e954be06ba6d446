import type { McpStage } from '../mcp/stage.ts';
import type { Operation } from '../observability/events.ts';
import type { Pricing } from '../observability/pricing.ts';
import type { PassthroughProviders } from '../providers/passthrough.ts';
import type { Provider } from '../providers/types.ts';
import type { ModelResolver } from '../router/resolve.ts';
import type { RequestContext } from './context.ts';
import { deliver } from './deliver.ts';
import { parseChatRequest, parseEmbeddingsRequest } from './validate.ts';

export interface PipelineDeps {
  readonly resolver: ModelResolver;
  readonly passthrough: PassthroughProviders | undefined;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly pricing: Pricing;
  /** The enrich stage (MCP context and the tool loop). */
  readonly mcp?: McpStage;
}

interface ChosenTarget {
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

function markTarget(context: RequestContext, deps: PipelineDeps, request: { model: string; user?: unknown }, target: ChosenTarget): void {
  const { model } = request;
  context.model = model;
  if (typeof request.user === 'string') context.user = request.user;
  const price = deps.pricing.lookup(target.provider.name, target.provider.type, target.upstreamModel);
  if (price) context.price = price;
  context.provider = target.provider.name;
  context.providerType = target.provider.type;
  context.upstreamModel = target.upstreamModel;
  context.headers['x-lightport-provider'] = target.provider.name;
  context.headers['x-lightport-model'] = target.upstreamModel;
}

function begin(context: RequestContext, operation: Operation, body: unknown): void {
  context.operation = operation;
  if (context.bodyCapture !== 'off') context.requestBody = body;
}

export async function handleChatCompletions(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  begin(context, 'chat', body);
  const request = parseChatRequest(body);
  const target = chooseTarget(context, deps, request.model);
  markTarget(context, deps, request, target);
  const plan = await deps.mcp?.prepare(context, request);
  await deliver(
    context,
    target.upstreamModel,
    (options) => (plan === undefined ? target.provider.chat(request, options) : plan.chat(target.provider, options)),
    target.callerApiKey,
  );
}

export async function handleEmbeddings(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  begin(context, 'embeddings', body);
  const request = parseEmbeddingsRequest(body);
  const target = chooseTarget(context, deps, request.model);
  markTarget(context, deps, request, target);
  await deliver(context, target.upstreamModel, (options) => target.provider.embeddings(request, options), target.callerApiKey);
}
