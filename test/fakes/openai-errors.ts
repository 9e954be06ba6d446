export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

export interface OpenAIError {
  status: number;
  body: OpenAIErrorBody;
  headers?: Record<string, string>;
}

export function openAIError(
  status: number,
  message: string,
  fields: { type?: string; param?: string | null; code?: string | null } = {},
): OpenAIError {
  return {
    status,
    body: {
      error: {
        message,
        type: fields.type ?? 'invalid_request_error',
        param: fields.param ?? null,
        code: fields.code ?? null,
      },
    },
  };
}

export function invalidRequest(message: string, param: string | null, code: string | null): OpenAIError {
  return openAIError(400, message, { param, code });
}

export function unrecognizedArgument(name: string): OpenAIError {
  return openAIError(400, `Unrecognized request argument supplied: ${name}`);
}

export function missingParameter(param: string): OpenAIError {
  return invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}

export function invalidType(param: string, expected: string, value: unknown): OpenAIError {
  return invalidRequest(
    `Invalid type for '${param}': expected ${expected}, but got ${describeJsonType(value)} instead.`,
    param,
    'invalid_type',
  );
}

function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

export const invalidJsonBody = openAIError(
  400,
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
);

export const missingApiKey = openAIError(
  401,
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
  { code: 'invalid_api_key' },
);

export function incorrectApiKey(key: string): OpenAIError {
  const masked = `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
  return openAIError(
    401,
    `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    { code: 'invalid_api_key' },
  );
}

export function rateLimited(model: string): OpenAIError {
  return {
    ...openAIError(
      429,
      `Rate limit reached for ${model} in organization org-fakeupstream on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
      { type: 'requests', code: 'rate_limit_exceeded' },
    ),
    headers: {
      'retry-after': '1',
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-limit-tokens': '40000',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-remaining-tokens': '39980',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-reset-tokens': '30ms',
    },
  };
}

export const serverError = openAIError(500, 'The server had an error while processing your request. Sorry about that!', {
  type: 'server_error',
});

export function invalidUrl(method: string, path: string): OpenAIError {
  return openAIError(404, `Invalid URL (${method} ${path})`);
}

export function modelNotFound(model: string): OpenAIError {
  return openAIError(404, `The model '${model}' does not exist`, { param: 'model', code: 'model_not_found' });
}
