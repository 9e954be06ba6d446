import type { Send } from '../pipeline/deliver.ts';
import type { NativeApi, RelayRequest } from '../providers/types.ts';
import type { Target } from '../router/route.ts';
import { GatewayError } from '../server/errors.ts';

/** The attempt relaying a request as it is, when the target's provider speaks `api` itself; undefined when it does not. */
export function relayTo(target: Target, api: NativeApi, request: () => RelayRequest): Send | undefined {
  const native = target.provider.native;
  if (native === undefined || !native.apis.has(api)) return undefined;
  const relay = request();
  return (_target, options) => native.relay(relay, options);
}

/** The internal chat request, or the 400 that says why this request needs its own API's provider. */
export function chatOrRefusal<T>(translate: () => T): T | GatewayError {
  try {
    return translate();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
}
