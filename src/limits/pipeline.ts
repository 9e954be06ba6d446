import type { RequestContext } from '../pipeline/context.ts';
import type { ChatRequest, EmbeddingsRequest } from '../providers/types.ts';
import type { LimitsStage } from './stage.ts';

/**
 * Runs the upstream work of a request inside the limits: admitted first (or refused with
 * 403/429), settled after the response. Without a stage it is just the work.
 */
export function withinLimits(
  limits: LimitsStage | undefined,
  context: RequestContext,
  request: ChatRequest | EmbeddingsRequest,
  work: () => Promise<void>,
): Promise<void> {
  return limits === undefined ? work() : workAdmitted(limits, context, request, work);
}

async function workAdmitted(
  limits: LimitsStage,
  context: RequestContext,
  request: ChatRequest | EmbeddingsRequest,
  work: () => Promise<void>,
): Promise<void> {
  const admitted = limits.admit(context, request);
  const ticket = admitted instanceof Promise ? await admitted : admitted;
  try {
    await work();
  } finally {
    ticket?.settle(context);
  }
}
