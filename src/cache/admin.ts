import { z } from 'zod';
import type { RequestContext } from '../pipeline/context.ts';
import { requireAdmin } from '../server/admin-auth.ts';
import { readJsonBody } from '../server/body.ts';
import { GatewayError } from '../server/errors.ts';
import { sendJson } from '../server/respond.ts';
import type { CacheStage } from './stage.ts';

const purgeBody = z.strictObject({
  namespace: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
});

export interface CachePurgeOptions {
  /** admin.key of the running config (a reload may change it). */
  readonly adminKey: () => string | undefined;
  readonly bodyLimit: number;
}

/**
 * `POST /admin/cache/purge` with `{namespace?, model?}`: removes matching answers from every tier.
 * The admin key is checked before the body is read: an unauthenticated caller costs no read.
 */
export function cachePurgeHandler(cache: CacheStage, options: CachePurgeOptions) {
  return async (context: RequestContext): Promise<void> => {
    requireAdmin(context.req.headers, options.adminKey());
    const body = await readJsonBody(context, options.bodyLimit);
    const parsed = purgeBody.safeParse(body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const param = issue?.path.join('.') || undefined;
      throw new GatewayError(
        'invalid_request',
        `Invalid purge request: ${issue?.message ?? 'bad body'}.`,
        param === undefined ? {} : { param },
      );
    }
    const { namespace, model } = parsed.data;
    const removed = await cache.purge({ ...(namespace === undefined ? {} : { namespace }), ...(model === undefined ? {} : { model }) });
    sendJson(context.res, 200, { purged: removed }, context.headers);
  };
}
