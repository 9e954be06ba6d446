import type { CacheStage } from '../cache/stage.ts';
import type { McpStage } from '../mcp/stage.ts';
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
  /** The enrich stage (MCP context and the tool loop). */
  readonly mcp?: McpStage;
  /** The cache stage; absent when the cache is off. */
  readonly cache?: CacheStage;
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

function markTarget(context: RequestContext, model: string, target: ChosenTarget): void {
  context.model = model;
  context.provider = target.provider.name;
  context.providerType = target.provider.type;
  context.upstreamModel = target.upstreamModel;
  context.headers['x-lightport-provider'] = target.provider.name;
  context.headers['x-lightport-model'] = target.upstreamModel;
}

export async function handleChatCompletions(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request = parseChatRequest(body);
  const target = chooseTarget(context, deps, request.model);
  markTarget(context, request.model, target);
  const plan = await deps.mcp?.prepare(context, request);
  const attempt: Attempt = (options) => (plan === undefined ? target.provider.chat(request, options) : plan.chat(target.provider, options));
  const cached = await deps.cache?.lookup(context, plan?.request ?? request, {
    provider: target.provider.name,
    upstreamModel: target.upstreamModel,
    runsTools: plan?.runsTools === true,
  });
  if (cached === 'answered') return;
  await deliver(context, target.upstreamModel, cached === undefined ? attempt : cached.wrap(attempt), target.callerApiKey);
}

export async function handleEmbeddings(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request = parseEmbeddingsRequest(body);
  const target = chooseTarget(context, deps, request.model);
  markTarget(context, request.model, target);
  await deliver(context, target.upstreamModel, (options) => target.provider.embeddings(request, options), target.callerApiKey);
}
