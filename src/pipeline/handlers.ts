import { withinLimits } from '../limits/pipeline.ts';
import type { LimitsStage } from '../limits/stage.ts';
import type { McpStage } from '../mcp/stage.ts';
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
  /** Auth & limits; undefined when keys and limits are off. */
  readonly limits: LimitsStage | undefined;
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
  await withinLimits(deps.limits, context, request, async () => {
    const plan = await deps.mcp?.prepare(context, request);
    await deliver(
      context,
      target.upstreamModel,
      (options) => (plan === undefined ? target.provider.chat(request, options) : plan.chat(target.provider, options)),
      target.callerApiKey,
    );
  });
}

export async function handleEmbeddings(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request = parseEmbeddingsRequest(body);
  const target = chooseTarget(context, deps, request.model);
  markTarget(context, request.model, target);
  await withinLimits(deps.limits, context, request, () =>
    deliver(context, target.upstreamModel, (options) => target.provider.embeddings(request, options), target.callerApiKey),
  );
}
