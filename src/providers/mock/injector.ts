import { setTimeout as sleep } from 'node:timers/promises';
import type { MockProviderConfig } from '../../config/schema.ts';
import type { AttemptOutcome } from '../types.ts';

/**
 * Failures at configured rates, deterministically: each kind accumulates its rate per
 * request and fires when the total reaches one, so 0.25 fails exactly every fourth call.
 */
export function createInjector(errors: MockProviderConfig['errors']): (signal: AbortSignal) => Promise<AttemptOutcome | undefined> {
  const accumulated = errors.map(() => 0);
  return async (signal) => {
    for (const [index, error] of errors.entries()) {
      accumulated[index] = (accumulated[index] ?? 0) + error.rate;
      if ((accumulated[index] ?? 0) < 1 - 1e-9) continue;
      accumulated[index] = (accumulated[index] ?? 0) - 1;
      switch (error.kind) {
        case 'status':
          return {
            kind: 'upstream_error',
            status: error.status,
            body: {
              error: {
                message: error.message,
                type: error.status >= 500 ? 'server_error' : 'invalid_request_error',
                param: null,
                code: 'mock_injected',
              },
            },
          };
        case 'reset':
          return { kind: 'failed', code: 'upstream_unreachable', message: 'The upstream connection was reset (mock).' };
        case 'hang':
          await sleep(2 ** 31 - 1, undefined, { signal }).catch(() => undefined);
          return { kind: 'cancelled' };
      }
    }
    return undefined;
  };
}
