import type { RequestContext } from '../../pipeline/context.ts';
import type { Attempt } from '../../pipeline/deliver.ts';
import { routeAndDeliver, type ChosenTarget, type PipelineDeps } from '../../pipeline/handlers.ts';
import { translatingSink } from '../chat-answer.ts';
import { OPENAI_FORMAT } from '../openai-format.ts';
import { CompletionAnswer } from './answer.ts';
import { parseCompletionsRequest, promptText, toChatRequest } from './request.ts';

/** `POST /v1/completions` (legacy): relayed where the provider has the API (OpenAI, Azure, compatible servers), adapted over chat elsewhere. */
export async function handleCompletions(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request = parseCompletionsRequest(body);
  const attemptFor = (target: ChosenTarget): Attempt => {
    const native = target.provider.native;
    if (native?.apis.has('openai-completions')) {
      const relay = {
        api: 'openai-completions' as const,
        method: 'POST' as const,
        path: '/completions',
        body: JSON.stringify({ ...request, model: target.upstreamModel }),
        stream: request.stream === true,
      };
      return (options) => native.relay(relay, options);
    }
    const chat = toChatRequest(request);
    const writer = new CompletionAnswer({
      model: target.upstreamModel,
      echo: request.echo === true ? promptText(request) : '',
      includeUsage: request.stream_options?.include_usage === true,
    });
    return (options) => target.provider.chat(chat, { ...options, sink: translatingSink(options.sink, writer, OPENAI_FORMAT) });
  };
  await routeAndDeliver(context, deps, { model: request.model, attemptFor });
}
