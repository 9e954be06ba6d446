import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const KEYS = {
  rpm: 'lp-test-rpm-key-000000001',
  teamA: 'lp-test-team-a-key-0000002',
  teamB: 'lp-test-team-b-key-0000003',
  tpm: 'lp-test-tpm-key-000000004',
  concurrent: 'lp-test-concurrent-key-05',
  free: 'lp-test-free-key-00000006',
};

let gateway: GatewayProcess;
let open: GatewayProcess;

beforeAll(async () => {
  [gateway, open] = await Promise.all([
    startGateway({
      config: `
providers:
  plain: { type: mock }
  wordy: { type: mock, usage: { prompt_tokens: 10, completion_tokens: 400 } }
  slow: { type: mock, response: { text: "one two three four five six" }, chunk_ms: 300 }
models:
  echo: { provider: plain, model: echo-1 }
  capped: { provider: plain, model: capped-1 }
  wordy: { provider: wordy, model: wordy-1 }
  slow: { provider: slow, model: slow-1 }
auth:
  enabled: true
  keys:
    - { name: rpm, key: ${KEYS.rpm}, limits: { requests_per_minute: 2 } }
    - { name: team-a, key: ${KEYS.teamA}, team: small }
    - { name: team-b, key: ${KEYS.teamB}, team: small }
    - { name: tpm, key: ${KEYS.tpm}, limits: { tokens_per_minute: 1000 } }
    - { name: concurrent, key: ${KEYS.concurrent}, limits: { concurrent: 2 } }
    - { name: free, key: ${KEYS.free} }
  teams:
    small: { limits: { requests_per_minute: 3 } }
limits:
  headers: all
  per_user: { requests_per_minute: 2 }
  per_model: { capped: { requests_per_minute: 2 } }
`,
    }),
    // Limits without keys: a global limit on a gateway with auth off.
    startGateway({
      config: `
providers:
  plain: { type: mock }
models:
  echo: { provider: plain, model: echo-1 }
limits:
  global: { requests_per_minute: 5 }
`,
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), open?.stop()]);
});

interface Answer {
  status: number;
  headers: Headers;
  error?: { code: string; message: string; type: string };
}

async function ask(target: GatewayProcess, key: string | undefined, body: object, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${target.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...headers },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hello there' }], ...body }),
  });
  const json = (await response.json()) as { error?: Answer['error'] };
  return { status: response.status, headers: response.headers, ...(json.error ? { error: json.error } : {}) };
}

const statuses = (answers: Answer[]): number[] => answers.map((answer) => answer.status);

async function inTurn(count: number, send: () => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await send());
  return answers;
}

async function read(chunks: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<string> {
  let text = '';
  for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

describe('rate limits in memory', () => {
  it('limits requests per minute per key, with OpenAI headers on every answer (headers: all) and Retry-After on the 429', async () => {
    const answers = await inTurn(3, () => ask(gateway, KEYS.rpm, { model: 'echo' }));
    expect(statuses(answers)).toEqual([200, 200, 429]);
    const [first, , refused] = answers as [Answer, Answer, Answer];
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    // One request is back after 30 s at 2 a minute.
    expect(first.headers.get('x-ratelimit-reset-requests')).toMatch(/^(29\.\d+|30)s$/);
    expect(refused.error).toMatchObject({ code: 'rate_limited', type: 'rate_limit_error' });
    expect(refused.error?.message).toBe('Rate limit reached: 2 requests per minute for this key. Retry after 30s.');
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(Number(refused.headers.get('retry-after-ms'))).toBeGreaterThan(29_000);
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused.headers.get('x-ratelimit-reset-requests')).toMatch(/^(59\.\d+|1m0)s$/);
    // Another key is not affected.
    expect((await ask(gateway, KEYS.free, { model: 'echo' })).status).toBe(200);
  });

  it('limits a team across its keys', async () => {
    const answers = [
      await ask(gateway, KEYS.teamA, { model: 'echo' }),
      await ask(gateway, KEYS.teamB, { model: 'echo' }),
      await ask(gateway, KEYS.teamA, { model: 'echo' }),
      await ask(gateway, KEYS.teamB, { model: 'echo' }),
    ];
    expect(statuses(answers)).toEqual([200, 200, 200, 429]);
    expect(answers[3]?.error?.message).toContain("3 requests per minute for this key's team");
  });

  it('limits each user, named by the user field or x-lightport-user', async () => {
    const answers = [
      await ask(gateway, KEYS.free, { model: 'echo', user: 'ursula' }),
      await ask(gateway, KEYS.free, { model: 'echo' }, { 'x-lightport-user': 'ursula' }),
      await ask(gateway, KEYS.free, { model: 'echo', user: 'ursula' }),
      await ask(gateway, KEYS.free, { model: 'echo', user: 'victor' }),
    ];
    expect(statuses(answers)).toEqual([200, 200, 429, 200]);
    expect(answers[2]?.error?.message).toContain('for this user');
    const tooLong = await ask(gateway, KEYS.free, { model: 'echo', user: 'u'.repeat(300) });
    expect(tooLong.status).toBe(400);
  });

  it('limits a model across keys', async () => {
    const answers = [
      await ask(gateway, KEYS.free, { model: 'capped' }),
      await ask(gateway, KEYS.concurrent, { model: 'capped' }),
      await ask(gateway, KEYS.free, { model: 'capped' }),
    ];
    expect(statuses(answers)).toEqual([200, 200, 429]);
    expect(answers[2]?.error?.message).toContain('for this model');
    expect((await ask(gateway, KEYS.free, { model: 'echo' })).status).toBe(200);
  });

  it('limits tokens per minute on the estimate, then on the real usage once the answer is in', async () => {
    // Each answer reports 410 tokens; the estimate before the call is about 15.
    const first = await ask(gateway, KEYS.tpm, { model: 'wordy' });
    expect(first.status).toBe(200);
    const estimate = 1000 - Number(first.headers.get('x-ratelimit-remaining-tokens'));
    expect(estimate).toBeGreaterThan(5);
    expect(estimate).toBeLessThan(30);
    const second = await ask(gateway, KEYS.tpm, { model: 'wordy' });
    // Reconciled: the first request counts 410, not its estimate (plus a little refill since).
    const left = Number(second.headers.get('x-ratelimit-remaining-tokens'));
    expect(left).toBeGreaterThan(1000 - 410 - estimate - 5);
    expect(left).toBeLessThan(1000 - 410 - estimate + 40);
    expect((await ask(gateway, KEYS.tpm, { model: 'wordy' })).status).toBe(200);
    // By the estimates alone 60 tokens are used; by the usage, 1230 of 1000.
    const refused = await ask(gateway, KEYS.tpm, { model: 'wordy' });
    expect(refused.status).toBe(429);
    expect(refused.error?.message).toContain('1000 tokens per minute for this key');
    expect(refused.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(10);
  });

  it('refuses a request that reserves more tokens than a minute allows, saying it can never pass', async () => {
    const answer = await ask(gateway, KEYS.tpm, { model: 'echo', max_tokens: 5000 });
    expect(answer.status).toBe(429);
    expect(answer.error?.code).toBe('request_too_large_for_limit');
    expect(answer.error?.message).toContain('more than the key limit of 1000 tokens per minute');
  });

  it('limits concurrent requests; a stream holds its slot until it ends', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.concurrent, maxRetries: 0 });
    const stream = () => client.chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'x' }], stream: true });
    const [one, two] = await Promise.all([stream(), stream()]);
    const refused = await ask(gateway, KEYS.concurrent, { model: 'echo' });
    expect(refused.status).toBe(429);
    expect(refused.error?.message).toBe('Too many concurrent requests for this key; retry when one finishes.');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await Promise.all([read(one), read(two)])).toEqual(['one two three four five six', 'one two three four five six']);
    // Slots are released after the response, asynchronously; give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await ask(gateway, KEYS.concurrent, { model: 'echo' })).status).toBe(200);
  });

  it('applies a global limit without any keys; by default only the refusals carry the x-ratelimit-* headers', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => ask(open, undefined, { model: 'echo' })));
    expect(statuses(answers).filter((status) => status === 200)).toHaveLength(5);
    const refused = answers.find((answer) => answer.status === 429);
    expect(refused?.error?.message).toBe('Rate limit reached: 5 requests per minute for this gateway. Retry after 12s.');
    expect(refused?.headers.get('x-ratelimit-limit-requests')).toBe('5');
    expect(refused?.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused?.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?s$/);
    for (const admitted of answers.filter((answer) => answer.status === 200)) {
      expect([...admitted.headers.keys()].filter((name) => name.startsWith('x-ratelimit-'))).toEqual([]);
    }
  });
});
