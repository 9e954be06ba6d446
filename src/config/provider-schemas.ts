import { z } from 'zod';

/** Provider types that call an upstream over HTTP, one strict schema each (the mock lives in schema.ts). */
const milliseconds = z.int().positive();
const headerMap = z.record(z.string(), z.string());

const commonFields = {
  headers: headerMap.default({}).describe('Extra headers sent upstream on every request.'),
  timeout_ms: milliseconds.optional().describe('Upstream timeout; defaults to server.request_timeout_ms.'),
  connect_timeout_ms: milliseconds.optional().describe('Connect timeout; defaults to router.timeouts.connect_ms.'),
};

/** For upstreams that speak OpenAI's wire format. */
const streamUsage = {
  stream_usage: z
    .boolean()
    .default(true)
    .describe(
      'Ask for usage in streams (stream_options.include_usage) so cost is known; the extra chunk is not shown to callers who did not ask.',
    ),
};

const keyed = (how: string) => ({
  api_key: z.string().optional().describe(`${how} Use \${ENV_VAR}; never commit keys.`),
  ...commonFields,
});

const openaiProviderSchema = z.strictObject({
  type: z.literal('openai'),
  base_url: z.url().default('https://api.openai.com/v1'),
  organization: z.string().optional(),
  project: z.string().optional(),
  ...keyed('Sent as a bearer token.'),
  ...streamUsage,
});

const openaiCompatibleProviderSchema = z.strictObject({
  type: z.literal('openai-compatible'),
  base_url: z.url(),
  ...keyed('Sent as a bearer token.'),
  ...streamUsage,
});

const anthropicProviderSchema = z.strictObject({
  type: z.literal('anthropic'),
  base_url: z.url().default('https://api.anthropic.com/v1'),
  anthropic_version: z.string().default('2023-06-01').describe('Sent as the anthropic-version header.'),
  ...keyed('Sent as the x-api-key header.'),
});

const googleProviderSchema = z.strictObject({
  type: z.literal('google'),
  base_url: z.url().default('https://generativelanguage.googleapis.com/v1beta'),
  ...keyed('The Gemini API key, sent as the x-goog-api-key header.'),
});

const cohereProviderSchema = z.strictObject({
  type: z.literal('cohere'),
  base_url: z.url().default('https://api.cohere.com'),
  ...keyed('Sent as a bearer token.'),
});

const bedrockProviderSchema = z.strictObject({
  type: z.literal('bedrock'),
  region: z.string().optional().describe('AWS region, e.g. us-east-1; defaults to AWS_REGION or AWS_DEFAULT_REGION.'),
  base_url: z.url().optional().describe('Defaults to https://bedrock-runtime.<region>.amazonaws.com.'),
  access_key_id: z.string().optional().describe('With secret_access_key; without them the AWS default credential chain is used.'),
  secret_access_key: z.string().optional(),
  session_token: z.string().optional(),
  ...commonFields,
});

const openAILike = (type: 'mistral' | 'groq' | 'deepseek' | 'xai', baseUrl: string) =>
  z.strictObject({
    type: z.literal(type),
    base_url: z.url().default(baseUrl),
    ...keyed('Sent as a bearer token.'),
    ...streamUsage,
  });

const azureProviderSchema = z
  .strictObject({
    type: z.literal('azure-openai'),
    endpoint: z.url().describe('The resource endpoint, e.g. https://my-resource.openai.azure.com; model names are deployment names.'),
    api_version: z.string().default('2024-10-21'),
    api_key: z.string().optional().describe('Sent as the api-key header. Use ${ENV_VAR}; never commit keys.'),
    entra_token: z.string().optional().describe('A fixed Microsoft Entra ID access token, sent as a bearer token instead of api_key.'),
    entra: z
      .strictObject({
        scope: z.string().default('https://cognitiveservices.azure.com/.default'),
        managed_identity_client_id: z.string().optional().describe('A user-assigned managed identity; default: the system-assigned one.'),
      })
      .optional()
      .describe(
        'Get and renew Microsoft Entra ID tokens with the Azure SDK (environment service principal, workload identity, managed identity, Azure CLI).',
      ),
    ...commonFields,
    ...streamUsage,
  })
  .superRefine((provider, context) => {
    const given = (['api_key', 'entra_token', 'entra'] as const).filter((field) => provider[field] !== undefined);
    if (given.length > 1)
      context.addIssue({
        code: 'custom',
        path: [given[1] ?? 'entra'],
        message: `use one of api_key, entra_token and entra, not ${given.join(' and ')}`,
      });
  });

export const upstreamProviderSchemas = [
  openaiProviderSchema,
  openaiCompatibleProviderSchema,
  anthropicProviderSchema,
  googleProviderSchema,
  cohereProviderSchema,
  bedrockProviderSchema,
  openAILike('mistral', 'https://api.mistral.ai/v1'),
  openAILike('groq', 'https://api.groq.com/openai/v1'),
  openAILike('deepseek', 'https://api.deepseek.com/v1'),
  openAILike('xai', 'https://api.x.ai/v1'),
  azureProviderSchema,
] as const;
