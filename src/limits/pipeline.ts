import type { RequestContext } from '../pipeline/context.ts';
import type { ChatRequest, EmbeddingsRequest } from '../providers/types.ts';
import type { LimitsStage } from './stage.ts';
import type { Ticket } from './ticket.ts';

/**
 * Runs the upstream work of a request inside the limits: admitted first (or refused with
 * 403/429), settled after the response. Without a stage it is just the work. No async frame
 * of its own: with the in-memory backend the admission is decided at once, and the work's
 * own promise carries the settlement.
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
  if (admitted instanceof Promise) return admitted.then((ticket) => workTicketed(ticket, context, work));
  return workTicketed(admitted, context, work);
}

function workTicketed(ticket: Ticket | undefined, context: RequestContext, work: () => Promise<void>): Promise<void> {
  if (ticket === undefined) return work();
  let working: Promise<void>;
  try {
    working = work();
  } catch (error) {
    ticket.settle(context);
    return Promise.reject(error);
  }
  return working.then(
    () => ticket.settle(context),
    (error: unknown) => {
      ticket.settle(context);
      throw error;
    },
  );
}
