/**
 * The gateway's error catalogue: every error a caller can see carries an HTTP status,
 * OpenAI's `type`/`code` and a stable gateway code, so clients and logs agree.
 */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'server_error'
  | 'timeout_error';

interface ErrorSpec {
  readonly status: number;
  readonly type: OpenAIErrorType;
}

export const ERROR_CATALOGUE = {
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  unsupported_parameter: { status: 400, type: 'invalid_request_error' },
  body_too_large: { status: 413, type: 'invalid_request_error' },
  request_timeout: { status: 408, type: 'timeout_error' },
  route_not_found: { status: 404, type: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  model_not_found: { status: 404, type: 'not_found_error' },
  response_not_found: { status: 404, type: 'not_found_error' },
  previous_response_not_found: { status: 400, type: 'invalid_request_error' },
  provider_unavailable: { status: 503, type: 'server_error' },
  missing_api_key: { status: 401, type: 'authentication_error' },
  upstream_not_allowed: { status: 403, type: 'permission_error' },
  upstream_unreachable: { status: 502, type: 'server_error' },
  upstream_timeout: { status: 504, type: 'timeout_error' },
  upstream_error: { status: 502, type: 'server_error' },
  no_matching_route: { status: 400, type: 'invalid_request_error' },
  no_eligible_target: { status: 400, type: 'invalid_request_error' },
  targets_unavailable: { status: 503, type: 'server_error' },
  admin_unauthorized: { status: 401, type: 'authentication_error' },
  admin_disabled: { status: 404, type: 'not_found_error' },
  invalid_config: { status: 400, type: 'invalid_request_error' },
  shutting_down: { status: 503, type: 'server_error' },
  missing_gateway_key: { status: 401, type: 'authentication_error' },
  invalid_gateway_key: { status: 401, type: 'authentication_error' },
  revoked_gateway_key: { status: 401, type: 'authentication_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  mcp_not_allowed: { status: 403, type: 'permission_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  request_too_large_for_limit: { status: 429, type: 'rate_limit_error' },
  budget_exceeded: { status: 429, type: 'insufficient_quota' },
  limits_unavailable: { status: 503, type: 'server_error' },
  key_not_found: { status: 404, type: 'not_found_error' },
  key_conflict: { status: 409, type: 'invalid_request_error' },
  mcp_server_unknown: { status: 400, type: 'invalid_request_error' },
  mcp_tool_unknown: { status: 400, type: 'invalid_request_error' },
  mcp_server_not_allowed: { status: 403, type: 'permission_error' },
  mcp_server_unavailable: { status: 503, type: 'server_error' },
  request_log_disabled: { status: 404, type: 'not_found_error' },
  request_log_unavailable: { status: 503, type: 'server_error' },
  internal_error: { status: 500, type: 'server_error' },
} as const satisfies Record<string, ErrorSpec>;

export type GatewayErrorCode = keyof typeof ERROR_CATALOGUE;

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly param: string | null;

  constructor(code: GatewayErrorCode, message: string, options?: { param?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'GatewayError';
    this.code = code;
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    this.status = spec.status;
    this.type = spec.type;
    this.param = options?.param ?? null;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  // JSON.parse takes any depth, but walking the result (validation, re-serializing it for the
  // upstream) recurses: a body nested deep enough overflows the stack there. The caller's doing.
  if (error instanceof RangeError && error.message.includes('call stack')) {
    return new GatewayError('invalid_request', 'The request body is nested too deeply.', { cause: error });
  }
  return new GatewayError('internal_error', 'The gateway failed to handle this request.', { cause: error });
}
