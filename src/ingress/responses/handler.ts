import type { RequestContext } from '../../pipeline/context.ts';
import type { Send } from '../../pipeline/deliver.ts';
import { deliverToHolder, handleIngress, type PipelineDeps } from '../../pipeline/handlers.ts';
import type { RelayRequest, ResponseSink } from '../../providers/types.ts';
import type { Target } from '../../router/route.ts';
import { GatewayError } from '../../server/errors.ts';
import { sendJson } from '../../server/respond.ts';
import type { ResponsesStore, StoredResponse } from '../../state/responses-store.ts';
import { translatingSink } from '../chat-answer.ts';
import { chatOrRefusal, relayTo } from '../relay.ts';
import { RESPONSES_FORMAT } from './format.ts';
import { listInputItems } from './input-items.ts';
import { inputItems, type Item } from './items.ts';
import { recordingResponseId } from './record-id.ts';
import { RelayedResponseStream } from './relayed-stream.ts';
import { DROPPABLE, parseCreateResponse, toChatRequest, toChatView, type CreateResponse } from './request.ts';
import { newResponseState } from './response.ts';
import { ResponsesAnswer } from './stream.ts';
import { isGatewayReasoning } from './thinking.ts';
import { decodePathSegment } from '../../server/path-segment.ts';

type Handler = (context: RequestContext, deps: PipelineDeps, body?: unknown) => Promise<void>;

export interface ResponsesIngress {
  create: Handler;
  retrieve: Handler;
  remove: Handler;
}

/**
 * The Responses API: relayed to providers that serve it (OpenAI, Azure), adapted over chat for
 * every other, with the conversations the gateway wrote kept in `store` for later turns.
 */
export function responsesIngress(store: ResponsesStore): ResponsesIngress {
  const create = async (context: RequestContext, deps: PipelineDeps, body: unknown): Promise<void> => {
    const request = parseCreateResponse(body);
    const previousId = request.previous_response_id ?? undefined;
    const previous = previousId === undefined ? undefined : await store.get(previousId);
    const history = previous?.kind === 'conversation' ? conversationOf(previous) : undefined;
    const conversation = [...(history ?? []), ...inputItems(request.input)];
    const chat = chatOrRefusal(() => {
      if (previousId !== undefined && history === undefined) throw previousNotFound(previousId, previous);
      return toChatRequest(request, conversation);
    });
    const keep = request.store !== false;
    await handleIngress(context, deps, {
      model: request.model,
      chat,
      view: () => toChatView(request, conversation),
      relay: (target) => relayCreate({ context, request, target, history, store }),
      translate: (sink, target) => {
        const writer = new ResponsesAnswer(request, newResponseState(target.upstreamModel), (response) => {
          if (keep) store.put({ kind: 'conversation', id: String(response['id']), response, inputItems: conversation });
        });
        // A stream the upstream breaks ends with an error event numbered after the last one sent.
        context.format = { errorBody: RESPONSES_FORMAT.errorBody, streamError: (message, code) => writer.streamError(message, code) };
        return translatingSink(sink, writer, RESPONSES_FORMAT);
      },
      droppable: DROPPABLE,
    });
  };

  /** GET /v1/responses/{id} and GET /v1/responses/{id}/input_items. */
  const retrieve = async (context: RequestContext, deps: PipelineDeps): Promise<void> => {
    const { id, rest, query } = responsePath(context);
    if (rest !== '' && rest !== '/input_items') throw new GatewayError('route_not_found', `Unknown route: GET ${context.req.url}.`);
    const record = await store.get(id);
    if (record?.kind === 'conversation') {
      const body = rest === '' ? record.response : listInputItems(record.inputItems, new URLSearchParams(query));
      sendJson(context.res, 200, body, context.headers);
      return;
    }
    context.format = RESPONSES_FORMAT;
    await relayById(context, deps, { record, id, method: 'GET', path: `/responses/${encodeURIComponent(id)}${rest}${query}` });
  };

  const remove = async (context: RequestContext, deps: PipelineDeps): Promise<void> => {
    const { id, rest } = responsePath(context);
    if (rest !== '') throw new GatewayError('route_not_found', `Unknown route: DELETE ${context.req.url}.`);
    const record = await store.get(id);
    if (record?.kind === 'conversation') {
      await store.delete(id);
      sendJson(context.res, 200, { id, object: 'response', deleted: true }, context.headers);
      return;
    }
    await relayById(context, deps, {
      record,
      id,
      method: 'DELETE',
      path: `/responses/${encodeURIComponent(id)}`,
      onDeleted: () => store.delete(id),
    });
  };

  return { create, retrieve, remove };
}

function relayCreate(parts: {
  context: RequestContext;
  request: CreateResponse;
  target: Target;
  history: Item[] | undefined;
  store: ResponsesStore;
}): Send | undefined {
  const { context, request, target, history, store } = parts;
  const send = relayTo(target, 'openai-responses', () => {
    const body: Record<string, unknown> = { ...request, model: target.upstreamModel };
    if (history !== undefined) {
      // The gateway holds this conversation, not the upstream: it goes along as input, without the gateway's item ids
      // and reasoning (OpenAI's own reasoning items, which it finds by id, keep theirs).
      body['input'] = [...history, ...inputItems(request.input)]
        .filter((item) => !isGatewayReasoning(item))
        .map(({ id, status: _status, ...item }) => (item['type'] === 'reasoning' ? { id, ...item } : item));
      delete body['previous_response_id'];
    } else if (Array.isArray(request.input) && request.input.some(isGatewayReasoning)) {
      // Reasoning from an earlier turn on a chat provider (Claude, DeepSeek, Gemini...) is not OpenAI's: it would refuse it.
      body['input'] = request.input.filter((item) => !isGatewayReasoning(item));
    }
    return { api: 'openai-responses', method: 'POST', path: '/responses', body: JSON.stringify(body), stream: request.stream === true };
  });
  if (send === undefined) return undefined;
  const remember =
    request.store === false ? undefined : (id: string): void => store.put({ kind: 'relayed', id, provider: target.provider.name });
  if (remember === undefined && request.stream !== true) return send;
  return (sendTarget, options) => {
    let sink = request.stream === true ? numberedStream(context, options.sink) : options.sink;
    if (remember !== undefined) sink = recordingResponseId(sink, remember);
    return send(sendTarget, { ...options, sink });
  };
}

/**
 * The sink of one attempt relaying a Responses stream: the error event the gateway may end it with
 * is numbered after the last event passed on (the attempt's own; another attempt's writer may have
 * set the request's format before it).
 */
function numberedStream(context: RequestContext, sink: ResponseSink): ResponseSink {
  const stream = new RelayedResponseStream();
  context.format = stream.format;
  return stream.sink(sink);
}

/** A response the upstream keeps: asked of the provider that made it, or of the one the caller names. */
async function relayById(
  context: RequestContext,
  deps: PipelineDeps,
  call: { record: StoredResponse | undefined; id: string; method: 'GET' | 'DELETE'; path: string; onDeleted?: () => Promise<unknown> },
): Promise<void> {
  const relay: RelayRequest = { api: 'openai-responses', method: call.method, path: call.path, stream: /[?&]stream=true/.test(call.path) };
  const send: Send = async (target, options) => {
    const native = target.provider.native;
    if (!native?.apis.has('openai-responses')) throw notFound(call.id);
    // A stream of it relayed again (`?stream=true`) that the upstream cuts ends with a Responses error event, numbered next.
    if (relay.stream) options = { ...options, sink: numberedStream(context, options.sink) };
    const outcome = await native.relay(relay, options);
    if (outcome.kind === 'ok') await call.onDeleted?.();
    return outcome;
  };
  const provider = call.record?.kind === 'relayed' ? call.record.provider : undefined;
  if (!(await deliverToHolder(context, deps, { provider, send }))) throw notFound(call.id);
}

function conversationOf(record: Extract<StoredResponse, { kind: 'conversation' }>): Item[] {
  const output = record.response['output'];
  return [...record.inputItems, ...(Array.isArray(output) ? (output as Item[]) : [])];
}

function responsePath(context: RequestContext): { id: string; rest: string; query: string } {
  const url = context.req.url ?? '';
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const tail = path.slice('/v1/responses/'.length);
  const slash = tail.indexOf('/');
  return {
    id: decodePathSegment(slash === -1 ? tail : tail.slice(0, slash)),
    rest: slash === -1 ? '' : tail.slice(slash),
    query: queryAt === -1 ? '' : url.slice(queryAt),
  };
}

function notFound(id: string): GatewayError {
  return new GatewayError('response_not_found', `Response with id '${id}' not found.`, { param: 'response_id' });
}

function previousNotFound(id: string, record: StoredResponse | undefined): GatewayError {
  const where = record?.kind === 'relayed' ? ` It is kept by provider '${record.provider}', which this model does not use.` : '';
  return new GatewayError('previous_response_not_found', `Previous response with id '${id}' not found.${where}`, {
    param: 'previous_response_id',
  });
}
