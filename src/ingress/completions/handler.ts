import type { RequestContext } from '../../pipeline/context.ts';
import { handleIngress, type PipelineDeps } from '../../pipeline/handlers.ts';
import { translatingSink } from '../chat-answer.ts';
import { OPENAI_FORMAT } from '../openai-format.ts';
import { chatOrRefusal, relayTo } from '../relay.ts';
import { CompletionAnswer } from './answer.ts';
import { parseCompletionsRequest, promptText, toChatRequest, toChatView } from './request.ts';

/** `POST /v1/completions` (legacy): relayed where the provider has the API (OpenAI, Azure, compatible servers), adapted over chat elsewhere. */
export async function handleCompletions(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request = parseCompletionsRequest(body);
  const stream = request.stream === true;
  await handleIngress(context, deps, {
    model: request.model,
    chat: chatOrRefusal(() => toChatRequest(request)),
    view: () => toChatView(request),
    relay: (target) =>
      relayTo(target, 'openai-completions', () => ({
        api: 'openai-completions',
        method: 'POST',
        path: '/completions',
        body: JSON.stringify({ ...request, model: target.upstreamModel }),
        stream,
      })),
    translate: (sink, target) =>
      translatingSink(
        sink,
        new CompletionAnswer({
          model: target.upstreamModel,
          echo: request.echo === true ? promptText(request) : '',
          includeUsage: request.stream_options?.include_usage === true,
        }),
        OPENAI_FORMAT,
      ),
  });
}
