import type { RequestContext } from '../pipeline/context.ts';
import type { ChatRequest, EmbeddingsRequest } from '../providers/types.ts';
import type { LimitsStage } from './stage.ts';
import type { Ticket } from './ticket.ts';

/**
 * Runs the upstream work of a request inside the limits: admitted first (or refused with
 * 403/429). The ticket goes on the context, and the gateway settles it once the response has
 * closed and the work has ended (server/gateway.ts), with the final status and usage. Without a
 * stage it is just the work. No promise of its own: with the in-memory backend the admission is
 * decided at once, and the work's own promise is the request's.
 */
export function withinLimits(
  limits: LimitsStage | undefined,
  context: RequestContext,
  request: ChatRequest | EmbeddingsRequest,
  work: () => Promise<void>,
): Promise<void> {
  if (limits === undefined) return work();
  let admitted: Ticket | undefined | Promise<Ticket | undefined>;
  try {
    admitted = limits.admit(context, request);
  } catch (refusal) {
    return Promise.reject(refusal);
  }
  if (admitted instanceof Promise)
    return admitted.then((ticket) => {
      context.ticket = ticket;
      return work();
    });
  context.ticket = admitted;
  return work();
}
