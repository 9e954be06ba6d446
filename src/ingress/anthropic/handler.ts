import type { RequestContext } from '../../pipeline/context.ts';
import { handleIngress, type PipelineDeps } from '../../pipeline/handlers.ts';
import type { RelayRequest } from '../../providers/types.ts';
import { GatewayError } from '../../server/errors.ts';
import { translatingSink } from '../chat-answer.ts';
import { chatOrRefusal, relayTo } from '../relay.ts';
import { AnthropicAnswer } from './answer.ts';
import { countTokensEstimate } from './count-tokens.ts';
import { ANTHROPIC_FORMAT } from './format.ts';
import { DROPPABLE, parseCountTokensRequest, parseMessagesRequest, toChatRequest, toChatView } from './request.ts';
import { requestHeader } from '../../server/request-headers.ts';

/** The caller's headers that belong to the Messages API and go to an Anthropic upstream with the request. */
const FORWARDED = ['anthropic-version', 'anthropic-beta'] as const;

function relayRequest(context: RequestContext, path: string, body: Record<string, unknown>, stream: boolean): RelayRequest {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED) {
    const value = requestHeader(context.req, name);
    if (value !== undefined) headers[name] = value;
  }
  return { api: 'anthropic-messages', method: 'POST', path, body: JSON.stringify(body), stream, headers };
}

/** `POST /v1/messages`: relayed as it is to an Anthropic provider, translated to and from chat for any other. */
export async function handleMessages(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request = parseMessagesRequest(body);
  const stream = request.stream === true;
  await handleIngress(context, deps, {
    model: request.model,
    chat: chatOrRefusal(() => toChatRequest(request)),
    view: () => toChatView(request),
    relay: (target) =>
      relayTo(target, 'anthropic-messages', () => relayRequest(context, '/messages', { ...request, model: target.upstreamModel }, stream)),
    translate: (sink, target) => translatingSink(sink, new AnthropicAnswer(target.upstreamModel), ANTHROPIC_FORMAT),
    droppable: DROPPABLE,
  });
}

/** `POST /v1/messages/count_tokens`: Anthropic counts it; for other providers the gateway estimates it with a tokenizer. */
export async function handleCountTokens(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request = parseCountTokensRequest(body);
  const chat = chatOrRefusal(() => toChatRequest(request));
  await handleIngress(context, deps, {
    model: request.model,
    chat,
    view: () => toChatView(request),
    enrich: false,
    relay: (target) => {
      const native = relayTo(target, 'anthropic-messages', () =>
        relayRequest(context, '/messages/count_tokens', { ...request, model: target.upstreamModel }, false),
      );
      if (native !== undefined || chat instanceof GatewayError) return native;
      context.headers['x-lightport-token-count'] = 'estimate';
      return (_target, options) => countTokensEstimate(chat, options.sink);
    },
    translate: (sink) => sink,
  });
}
