import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { FAULTS } from '../fakes/upstream-faults.ts';
import { ask, askMany, countBy } from '../support/ask.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { targetOf } from '../support/target-headers.ts';

let a: OpenAIUpstream;
let b: OpenAIUpstream;
let c: OpenAIUpstream;
let gateway: GatewayProcess;

const target = (answer: { headers: Headers }) => targetOf(answer.headers) ?? '(none)';

beforeAll(async () => {
  [a, b, c] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream(), startOpenAIUpstream()]);
  gateway = await startGateway({
    config: `
server: { request_timeout_ms: 10000 }
providers:
  a: { type: openai-compatible, base_url: "${a.url}", api_key: sk-test-a }
  b: { type: openai-compatible, base_url: "${b.url}", api_key: sk-test-b }
  c: { type: openai-compatible, base_url: "${c.url}", api_key: sk-test-c }
router:
  circuit: { enabled: false }
models:
  plain: { provider: a, model: gpt-4o-mini }
  primary-then-backup:
    strategy: fallback
    on_status: [401]
    targets:
      - { provider: a, model: gpt-4o-mini, timeouts: { first_byte_ms: 300 } }
      - b/gpt-4o-mini
  small-then-large:
    strategy: fallback
    targets:
      - { provider: a, model: gpt-4o-mini, context_window: 8192 }
      - { provider: b, model: gpt-4o-mini, context_window: 4096 }
      - { provider: c, model: gpt-4o-mini, context_window: 128000 }
  split:
    strategy: loadbalance
    targets: [{ target: a/gpt-4o-mini, weight: 3 }, { target: b/gpt-4o-mini, weight: 1 }]
  rotate: { strategy: loadbalance, method: round_robin, targets: [a/gpt-4o-mini, b/gpt-4o-mini, c/gpt-4o-mini] }
  sticky:
    strategy: loadbalance
    sticky: { by: header, header: x-session-id }
    targets: [a/gpt-4o-mini, b/gpt-4o-mini, c/gpt-4o-mini]
  fastest: { strategy: loadbalance, method: least_latency, targets: [a/gpt-4o-mini, b/gpt-4o-mini] }
  least-busy: { strategy: loadbalance, method: least_inflight, targets: [a/gpt-4o-mini, b/gpt-4o-mini] }
  cheapest:
    strategy: cost
    targets: &priced
      - { provider: a, model: gpt-4o, price: { input_per_mtok: 2.5, output_per_mtok: 10 }, capabilities: [tools, vision, streaming], tier: frontier, context_window: 128000 }
      - { provider: b, model: gpt-4o-mini, price: { input_per_mtok: 0.15, output_per_mtok: 0.6 }, capabilities: [tools, streaming], tier: standard, context_window: 128000 }
      - { provider: c, model: gpt-4.1-nano, price: { input_per_mtok: 0.1, output_per_mtok: 0.4 }, capabilities: [streaming], tier: basic, context_window: 2000 }
  cheapest-standard: { strategy: cost, min_tier: standard, targets: *priced }
  cheapest-quick: { strategy: cost, max_p95_latency_ms: 100, targets: *priced }
  by-plan:
    strategy: conditional
    rules:
      - when: 'request.metadata.plan == "free" && request.estimatedTokens < 4000'
        target: c/gpt-4o-mini
      - when: 'caller.tags.includes("beta") || request.stream'
        target: b/gpt-4o-mini
    default: plain
  strict-plan:
    strategy: conditional
    rules: [{ when: 'caller.user == "alice"', target: plain }]
  tree:
    strategy: fallback
    targets: [split, c/gpt-4o-mini]
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([a, b, c].map((upstream) => upstream?.close()));
});

beforeEach(() => {
  for (const upstream of [a, b, c]) upstream.setFault(undefined);
});

describe('single', () => {
  it('answers from its one target and says so', async () => {
    const answer = await ask(gateway.url, 'plain');
    expect(answer.status).toBe(200);
    expect(target(answer)).toBe('a/gpt-4o-mini');
    expect(answer.headers.get('x-lightport-attempts')).toBe('1');
    expect(answer.headers.get('x-lightport-fallback-reason')).toBeNull();
  });
});

describe('fallback moves on for each trigger, before the first byte', () => {
  it.each([
    ['429', () => a.setFault(FAULTS.tooManyRequests()), 'rate_limit'],
    ['500', () => a.setFault(FAULTS.serverError()), 'server_error'],
    ['503 overloaded', () => a.setFault(FAULTS.unavailable()), 'overloaded'],
    ['a status from on_status (401)', () => a.setFault(FAULTS.unauthorized()), 'status_401'],
    ['a reset connection', () => a.setFault({ kind: 'reset' }), 'unreachable'],
    ['200 with headers, then nothing', () => a.setFault({ kind: 'headers_then_close' }), 'unreachable'],
    ['a first-byte timeout', () => a.setFault({ kind: 'hang' }), 'timeout'],
  ])('%s', async (_name, breakPrimary, reason) => {
    breakPrimary();
    const before = b.chatRequests();
    const answer = await ask(gateway.url, 'primary-then-backup');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ object: 'chat.completion' });
    expect(target(answer)).toBe('b/gpt-4o-mini');
    expect(answer.headers.get('x-lightport-attempts')).toBe('2');
    expect(answer.headers.get('x-lightport-fallback-reason')).toBe(reason);
    expect(b.chatRequests()).toBe(before + 1);
  });

  it('refused connections', async () => {
    await a.refuse();
    try {
      const answer = await ask(gateway.url, 'primary-then-backup');
      expect(answer.status).toBe(200);
      expect(target(answer)).toBe('b/gpt-4o-mini');
      expect(answer.headers.get('x-lightport-fallback-reason')).toBe('unreachable');
    } finally {
      await a.resume();
    }
  });

  it('also for a stream whose upstream closes after its headers', async () => {
    a.setFault({ kind: 'headers_then_close' });
    const answer = await ask(gateway.url, 'primary-then-backup', { stream: true });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('data: [DONE]');
    expect(target(answer)).toBe('b/gpt-4o-mini');
  });

  it('never after the first byte: the stream ends with an error event and the backup is not asked', async () => {
    a.setFault({ kind: 'close_after_chunks', chunks: 2 });
    const before = b.chatRequests();
    const answer = await ask(gateway.url, 'primary-then-backup', { stream: true });
    expect(answer.status).toBe(200);
    expect(target(answer)).toBe('a/gpt-4o-mini');
    const events = answer.text.split('\n\n').filter(Boolean);
    expect(events.slice(0, 2).every((event) => event.startsWith('data: {"id"'))).toBe(true);
    expect(JSON.parse((events.at(-1) ?? '').slice('data: '.length))).toMatchObject({ error: { code: 'upstream_error' } });
    expect(answer.text).not.toContain('[DONE]');
    expect(b.chatRequests()).toBe(before);
  });

  it('does not fall back on an error another target would repeat (400), and returns it as is', async () => {
    b.setFault(FAULTS.unauthorized());
    a.setFault({
      kind: 'status',
      error: { status: 400, body: { error: { message: 'bad', type: 'invalid_request_error', param: null, code: null } } },
    });
    const before = b.chatRequests();
    const answer = await ask(gateway.url, 'primary-then-backup');
    expect(answer.status).toBe(400);
    expect(b.chatRequests()).toBe(before);
  });

  it('answers with the last error when every target fails', async () => {
    a.setFault(FAULTS.serverError());
    b.setFault(FAULTS.unavailable());
    const answer = await ask(gateway.url, 'primary-then-backup');
    expect(answer.status).toBe(503);
    expect(answer.headers.get('x-lightport-attempts')).toBe('2');
    expect(JSON.parse(answer.text)).toMatchObject({ error: { type: 'server_error' } });
  });

  it('moves a context-length error to a target with a larger window, skipping smaller ones', async () => {
    a.setFault(FAULTS.contextLength());
    const [bBefore, cBefore] = [b.chatRequests(), c.chatRequests()];
    const answer = await ask(gateway.url, 'small-then-large');
    expect(answer.status).toBe(200);
    expect(target(answer)).toBe('c/gpt-4o-mini');
    expect(answer.headers.get('x-lightport-fallback-reason')).toBe('context_length');
    expect(b.chatRequests()).toBe(bBefore);
    expect(c.chatRequests()).toBe(cBefore + 1);
  });
});

describe('loadbalance', () => {
  it('splits by weight within tolerance (3:1 over 600 requests)', async () => {
    const answers = await askMany(600, 8, () => ask(gateway.url, 'split'));
    const counts = countBy(answers, target);
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    // Binomial(600, 0.75): mean 450, sd 10.6; 5 sd either side.
    expect(counts['a/gpt-4o-mini']).toBeGreaterThan(450 - 53);
    expect(counts['a/gpt-4o-mini']).toBeLessThan(450 + 53);
  });

  it('round-robins in order', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(target(await ask(gateway.url, 'rotate')));
    expect(new Set(answers.slice(0, 3)).size).toBe(3);
    expect(answers.slice(3)).toEqual(answers.slice(0, 3));
  });

  it('keeps a sticky session on one target, and spreads sessions', async () => {
    const first = await ask(gateway.url, 'sticky', { headers: { 'x-session-id': 'session-42' } });
    for (let i = 0; i < 5; i++) {
      expect(target(await ask(gateway.url, 'sticky', { headers: { 'x-session-id': 'session-42' } }))).toBe(target(first));
    }
    const sessions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => ask(gateway.url, 'sticky', { headers: { 'x-session-id': `s-${i}` } })),
    );
    expect(new Set(sessions.map(target)).size).toBe(3);
  });

  it('least latency prefers the faster target', async () => {
    a.setFault({ kind: 'delay', ms: 250 });
    await askMany(10, 2, () => ask(gateway.url, 'fastest'));
    const answers = await askMany(40, 1, () => ask(gateway.url, 'fastest'));
    expect(countBy(answers, target)['b/gpt-4o-mini'] ?? 0).toBeGreaterThanOrEqual(34);
  });

  it('least in-flight sends concurrent requests away from the busy target', async () => {
    a.setFault({ kind: 'delay', ms: 300 });
    const answers = await askMany(40, 8, () => ask(gateway.url, 'least-busy'));
    const counts = countBy(answers, target);
    expect(counts['b/gpt-4o-mini'] ?? 0).toBeGreaterThan(3 * (counts['a/gpt-4o-mini'] ?? 0));
  });
});

describe('cost', () => {
  it('picks the cheapest target that can serve the request', async () => {
    expect(target(await ask(gateway.url, 'cheapest'))).toBe('c/gpt-4.1-nano');
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    expect(target(await ask(gateway.url, 'cheapest', { body: { tools } }))).toBe('b/gpt-4o-mini');
    const image = [
      { type: 'text', text: 'What is this?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
    ];
    const vision = await ask(gateway.url, 'cheapest', { body: { messages: [{ role: 'user', content: image }] } });
    expect(target(vision)).toBe('a/gpt-4o');
  });

  it('skips targets whose context window is too small for the estimated prompt', async () => {
    expect(target(await ask(gateway.url, 'cheapest', { content: 'word '.repeat(2000) }))).toBe('b/gpt-4o-mini');
  });

  it('honours a minimum tier', async () => {
    expect(target(await ask(gateway.url, 'cheapest-standard'))).toBe('b/gpt-4o-mini');
  });

  it('leaves a target slower than the p95 limit aside, yet measures it again now and then', async () => {
    c.setFault({ kind: 'delay', ms: 300 });
    const served: string[] = [];
    for (let round = 0; round < 8 && served.at(-1) !== 'b/gpt-4o-mini'; round++)
      served.push(target(await ask(gateway.url, 'cheapest-quick')));
    expect(served[0]).toBe('c/gpt-4.1-nano');
    expect(served.at(-1)).toBe('b/gpt-4o-mini');
    c.setFault(undefined);
    // c is fast again; without a second look, its 300 ms p95 would keep it out for good.
    const answers = await askMany(300, 4, () => ask(gateway.url, 'cheapest-quick'));
    const counts = countBy(answers, target);
    expect(counts['b/gpt-4o-mini']).toBeGreaterThan(200);
    expect(counts['c/gpt-4.1-nano']).toBeGreaterThan(0);
  });
});

describe('conditional', () => {
  it('routes by metadata and estimated tokens, tags, stream, and falls to the default', async () => {
    const free = { 'x-lightport-metadata': JSON.stringify({ plan: 'free' }) };
    expect(target(await ask(gateway.url, 'by-plan', { headers: free }))).toBe('c/gpt-4o-mini');
    expect(target(await ask(gateway.url, 'by-plan', { headers: free, content: 'word '.repeat(20_000) }))).toBe('a/gpt-4o-mini');
    expect(target(await ask(gateway.url, 'by-plan', { headers: { 'x-lightport-tags': 'alpha, beta' } }))).toBe('b/gpt-4o-mini');
    expect(target(await ask(gateway.url, 'by-plan', { stream: true }))).toBe('b/gpt-4o-mini');
    expect(target(await ask(gateway.url, 'by-plan'))).toBe('a/gpt-4o-mini');
  });

  it('refuses a request no rule matches when there is no default, and bad metadata', async () => {
    const refused = await ask(gateway.url, 'strict-plan', { body: { user: 'bob' } });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: 'no_matching_route' } });
    expect(target(await ask(gateway.url, 'strict-plan', { body: { user: 'alice' } }))).toBe('a/gpt-4o-mini');
    const bad = await ask(gateway.url, 'by-plan', { headers: { 'x-lightport-metadata': 'not json' } });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ error: { param: 'x-lightport-metadata' } });
  });
});

describe('a tree of models', () => {
  it('falls from a load-balanced pair to the next model when both fail', async () => {
    a.setFault(FAULTS.serverError());
    b.setFault(FAULTS.serverError());
    const answer = await ask(gateway.url, 'tree');
    expect(answer.status).toBe(200);
    expect(target(answer)).toBe('c/gpt-4o-mini');
    expect(answer.headers.get('x-lightport-attempts')).toBe('3');
  });
});
