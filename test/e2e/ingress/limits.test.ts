import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngressSetup, type IngressSetup } from './upstreams.ts';

const KEYS = {
  free: 'lp-test-ingress-free-key-0001',
  tpm: 'lp-test-ingress-tpm-key-00002',
  usage: 'lp-test-ingress-usage-key-003',
  responses: 'lp-test-ingress-resp-key-0004',
  completions: 'lp-test-ingress-cmpl-key-0005',
};

let setup: IngressSetup;

beforeAll(async () => {
  setup = await startIngressSetup(`
models:
  sonnet: { provider: claude, model: claude-sonnet-4-5 }
  gpt: { provider: openai, model: gpt-4.1 }
  instruct: { provider: openai, model: gpt-3.5-turbo-instruct }
auth:
  enabled: true
  keys:
    - { name: free, key: ${KEYS.free} }
    - { name: tpm, key: ${KEYS.tpm}, limits: { tokens_per_minute: 1000 } }
    - { name: usage, key: ${KEYS.usage}, limits: { tokens_per_minute: 1000 } }
    - { name: responses, key: ${KEYS.responses}, limits: { tokens_per_minute: 1000 } }
    - { name: completions, key: ${KEYS.completions}, limits: { tokens_per_minute: 1000 } }
limits:
  headers: all
  per_user: { requests_per_minute: 2 }
`);
});

afterAll(() => setup?.stop());

interface Answer {
  status: number;
  headers: Headers;
  message: string | undefined;
}

async function post(path: string, key: string, body: object): Promise<Answer> {
  const response = await fetch(`${setup.gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { error?: { message?: string } };
  return { status: response.status, headers: response.headers, message: json.error?.message };
}

const messages = (key: string, body: object): Promise<Answer> => post('/v1/messages', key, { model: 'sonnet', max_tokens: 50, ...body });

async function inTurn(count: number, send: () => Promise<Answer>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await send()).status);
  return statuses;
}

const question = (text: string) => ({ role: 'user', content: text });
/** A plain-text document block: Anthropic reads it, and no chat request can carry it. */
const withDocument = (text: string, data = 'The refund policy: thirty days, no questions asked.') => ({
  role: 'user',
  content: [
    { type: 'document', source: { type: 'text', media_type: 'text/plain', data } },
    { type: 'text', text },
  ],
});

/**
 * A Messages request that cannot be translated to chat (a document block, a field only Anthropic
 * reads) is relayed to Anthropic as it is, and meets the same limits as one that could be.
 */
describe('limits on requests relayed as they are', () => {
  it('counts a Messages request against its user whether or not it could be translated', async () => {
    const user = (name: string) => ({ metadata: { user_id: name } });
    const plain = await inTurn(3, () => messages(KEYS.free, { ...user('alice'), messages: [question('hello there')] }));
    expect(plain).toEqual([200, 200, 429]);
    const document = await inTurn(3, () => messages(KEYS.free, { ...user('bob'), messages: [withDocument('What does it say?')] }));
    expect(document).toEqual([200, 200, 429]);
    const extraField = await inTurn(3, () =>
      messages(KEYS.free, { ...user('carol'), messages: [question('hello there')], container: 'container_0123' }),
    );
    expect(extraField).toEqual([200, 200, 429]);
    // One user's requests count together, translatable or not.
    const mixed = [
      await messages(KEYS.free, { ...user('dave'), messages: [question('hello there')] }),
      await messages(KEYS.free, { ...user('dave'), messages: [withDocument('What does it say?')] }),
      await messages(KEYS.free, { ...user('dave'), messages: [withDocument('And again?')] }),
    ];
    expect(mixed.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(mixed[2]?.message).toContain('2 requests per minute for this user');
  });

  it('refuses a Messages request too large for a token limit, whether or not it could be translated', async () => {
    const plain = await messages(KEYS.tpm, { max_tokens: 50_000, messages: [question('hello there')] });
    expect(plain.status).toBe(429);
    expect(plain.message).toContain('more than the key limit of 1000 tokens per minute');
    const document = await messages(KEYS.tpm, { max_tokens: 50_000, messages: [withDocument('What does it say?')] });
    expect(document.status).toBe(429);
    expect(document.message).toContain('more than the key limit of 1000 tokens per minute');
    // The document's own text counts, as a long message would.
    const long = 'Every purchase may be returned within thirty days of delivery. '.repeat(150);
    const longDocument = await messages(KEYS.tpm, { messages: [withDocument('Summarize it.', long)] });
    expect(longDocument.status).toBe(429);
    expect(longDocument.message).toContain('more than the key limit of 1000 tokens per minute');
    // So does a long system prompt.
    const longSystem = await messages(KEYS.tpm, {
      system: [{ type: 'text', text: long, cache_control: { type: 'ephemeral' } }],
      messages: [withDocument('Summarize it.')],
    });
    expect(longSystem.status).toBe(429);
  });

  it('reconciles the estimate of a relayed Messages request with the usage Anthropic reports', async () => {
    // Each answer uses 34 tokens (21 input, 4 read from the cache, 9 output); each estimate reserves 600 for the answer.
    const ask = () => messages(KEYS.usage, { max_tokens: 600, messages: [withDocument('What does it say?')] });
    const first = await ask();
    expect(first.status).toBe(200);
    const estimate = 1000 - Number(first.headers.get('x-ratelimit-remaining-tokens'));
    expect(estimate).toBeGreaterThan(600);
    expect(estimate).toBeLessThan(700);
    // By the estimates alone the second would leave less than 0 tokens; by the usage, the first cost 34.
    const second = await ask();
    expect(second.status).toBe(200);
    const left = Number(second.headers.get('x-ratelimit-remaining-tokens'));
    expect(left).toBeGreaterThan(1000 - 34 - estimate - 5);
    expect(left).toBeLessThan(1000 - 34 - estimate + 40);
  });

  it('counts a Responses request relayed to OpenAI as it is by its input and max_output_tokens', async () => {
    const file = { type: 'input_file', file_id: 'file-abc123' };
    const input = [{ role: 'user', content: [file, { type: 'input_text', text: 'What does it say?' }] }];
    const ask = (body: object) => post('/v1/responses', KEYS.responses, { model: 'gpt', input, ...body });
    const tooLarge = await ask({ max_output_tokens: 50_000 });
    expect(tooLarge.status).toBe(429);
    expect(tooLarge.message).toContain('more than the key limit of 1000 tokens per minute');
    const users = [await ask({ user: 'erin' }), await ask({ user: 'erin' }), await ask({ user: 'erin' })];
    expect(users.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(users[2]?.message).toContain('for this user');
  });

  it('counts a completions request relayed as it is by its prompt, max_tokens and n', async () => {
    const ask = (body: object) =>
      post('/v1/completions', KEYS.completions, { model: 'instruct', prompt: 'Once upon', suffix: 'end.', ...body });
    const tooLarge = await ask({ max_tokens: 400, n: 3 });
    expect(tooLarge.status).toBe(429);
    expect(tooLarge.message).toContain('more than the key limit of 1000 tokens per minute');
    const users = [await ask({ user: 'frank' }), await ask({ user: 'frank' }), await ask({ user: 'frank' })];
    expect(users.map((answer) => answer.status)).toEqual([200, 200, 429]);
  });
});
