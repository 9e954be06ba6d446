import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { RequestContext } from '../pipeline/context.ts';
import { GatewayError } from '../server/errors.ts';
import { sendJson } from '../server/respond.ts';
import type { CacheStage } from './stage.ts';

const purgeBody = z.strictObject({
  namespace: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
});

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** `POST /admin/cache/purge` with `{namespace?, model?}`: removes matching answers from every tier. */
export function cachePurgeHandler(cache: CacheStage, adminKey: string) {
  const expected = digest(`Bearer ${adminKey}`);
  return async (context: RequestContext, body: unknown): Promise<void> => {
    const given = context.req.headers.authorization;
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new GatewayError('admin_unauthorized', 'The admin API needs Authorization: Bearer <cache.admin_key>.');
    }
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
