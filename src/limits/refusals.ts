import { GatewayError } from '../server/errors.ts';

/** A key's model allowlist refusing `model`: the same 403 wherever it is checked (routing, the limits stage, /v1/models/{id}). */
export function modelNotAllowed(model: string): GatewayError {
  return new GatewayError('model_not_allowed', `This key may not use the model '${model}'.`, { param: 'model' });
}
