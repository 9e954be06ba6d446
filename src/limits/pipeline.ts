import type { RequestContext } from '../pipeline/context.ts';
import type { ChatRequest, EmbeddingsRequest } from '../providers/types.ts';
import type { LimitsStage } from './stage.ts';

/**
 * Runs the upstream work of a request inside the limits: admitted first (or refused with
 * 403/429), settled after the response. Without a stage it is just the work.
 */
export async function withinLimits(
  limits: LimitsStage | undefined,
  context: RequestContext,
  request: ChatRequest | EmbeddingsRequest,
  work: () => Promise<void>,
): Promise<void> {
  if (limits === undefined) return work();
  const ticket = await limits.admit(context, request);
  try {
    await work();
  } finally {
    ticket?.settle(context);
  }
}
