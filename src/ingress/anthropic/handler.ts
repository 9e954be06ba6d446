import type { RequestContext } from '../../pipeline/context.ts';
import { routeAndDeliver, type ChosenTarget, type PipelineDeps } from '../../pipeline/handlers.ts';
import type { Attempt } from '../../pipeline/deliver.ts';
import type { RelayRequest } from '../../providers/types.ts';
import { translatingSink } from '../chat-answer.ts';
import { AnthropicAnswer } from './answer.ts';
import { countTokensEstimate } from './count-tokens.ts';
import { ANTHROPIC_FORMAT } from './format.ts';
import { parseCountTokensRequest, parseMessagesRequest, toChatRequest, type CountTokensRequest } from './request.ts';

/** The caller's headers that belong to the Messages API and go to an Anthropic upstream with the request. */
const FORWARDED = ['anthropic-version', 'anthropic-beta'] as const;

function relayRequest(context: RequestContext, path: string, body: Record<string, unknown>, stream: boolean): RelayRequest {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED) {
    const value = context.req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return { api: 'anthropic-messages', method: 'POST', path, body: JSON.stringify(body), stream, headers };
}

/** `POST /v1/messages`: relayed as it is to an Anthropic provider, translated to and from chat for any other. */
export async function handleMessages(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request = parseMessagesRequest(body);
  const attemptFor = (target: ChosenTarget): Attempt => {
    const native = target.provider.native;
    if (native?.apis.has('anthropic-messages')) {
      const relay = relayRequest(context, '/messages', { ...request, model: target.upstreamModel }, request.stream === true);
      return (options) => native.relay(relay, options);
    }
    const chat = toChatRequest(request);
    return (options) =>
      target.provider.chat(chat, {
        ...options,
        sink: translatingSink(options.sink, new AnthropicAnswer(target.upstreamModel), ANTHROPIC_FORMAT),
      });
  };
  await routeAndDeliver(context, deps, { model: request.model, attemptFor });
}

/** `POST /v1/messages/count_tokens`: Anthropic counts it; for other providers the gateway estimates it with a tokenizer. */
export async function handleCountTokens(context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> {
  const request: CountTokensRequest = parseCountTokensRequest(body);
  const attemptFor = (target: ChosenTarget): Attempt => {
    const native = target.provider.native;
    if (native?.apis.has('anthropic-messages')) {
      const relay = relayRequest(context, '/messages/count_tokens', { ...request, model: target.upstreamModel }, false);
      return (options) => native.relay(relay, options);
    }
    const chat = toChatRequest(request);
    context.headers['x-lightport-token-count'] = 'estimate';
    return (options) => countTokensEstimate(chat, options.sink);
  };
  await routeAndDeliver(context, deps, { model: request.model, attemptFor });
}
