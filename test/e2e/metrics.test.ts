import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRICING_CATALOG } from '../../src/observability/pricing-catalog.ts';
import { FAKE_MODELS, startOpenAIUpstream, type OpenAIUpstream } from '../fakes/openai-upstream.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { scrape } from '../support/prometheus.ts';

let upstream: OpenAIUpstream;
let gateway: GatewayProcess;
let client: OpenAI;

const MOCK_DELAY_MS = 150;

beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  gateway = await startGateway({
    config: `
logging: { level: warn }
providers:
  openai: { type: openai, api_key: sk-test-metrics-0123456789abcdef, base_url: "${upstream.url}" }
  slow:
    type: mock
    first_token_ms: ${MOCK_DELAY_MS}
    usage: { prompt_tokens: 10, completion_tokens: 5 }
models:
  fast: { provider: openai, model: gpt-4o-mini }
  slowmock: { provider: slow, model: slow-1 }
pricing:
  models:
    slow/*: { input_per_mtok: 1, output_per_mtok: 2 }
`,
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

const ask = { messages: [{ role: 'user' as const, content: 'count the metrics' }] };

/** OpenAI's price for gpt-4o-mini, written out from the catalog entry. */
function catalogCost(usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } }) {
  const price = PRICING_CATALOG['openai/gpt-4o-mini'];
  if (price === undefined) throw new Error('gpt-4o-mini is not in the catalog');
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return (
    ((usage.prompt_tokens - cached) * price.input_per_mtok +
      cached * (price.cached_input_per_mtok ?? price.input_per_mtok) +
      usage.completion_tokens * price.output_per_mtok) /
    1e6
  );
}

describe('Prometheus metrics after known traffic', () => {
  const usages: { prompt: number; completion: number; cost: number }[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const { data, response } = await client.chat.completions.create({ model: 'fast', ...ask }).withResponse();
      const usage = data.usage;
      if (!usage) throw new Error('no usage');
      const cost = Number(response.headers.get('x-lightport-cost-usd'));
      expect(cost).toBeCloseTo(catalogCost(usage), 12);
      usages.push({ prompt: usage.prompt_tokens, completion: usage.completion_tokens, cost });
    }
    const withUsage = await client.chat.completions.create({
      model: 'fast',
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of withUsage)
      if (chunk.usage)
        usages.push({ prompt: chunk.usage.prompt_tokens, completion: chunk.usage.completion_tokens, cost: catalogCost(chunk.usage) });
    await expect(client.chat.completions.create({ model: `openai/${FAKE_MODELS.serverError}`, ...ask })).rejects.toMatchObject({
      status: 500,
    });
    await expect(client.chat.completions.create({ model: `openai/${FAKE_MODELS.rateLimited}`, ...ask })).rejects.toMatchObject({
      status: 429,
    });
    await expect(client.chat.completions.create({ model: 'fast', messages: [] })).rejects.toMatchObject({ status: 400 });
    for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: 'slowmock', ...ask });
  });

  it('counts requests by model, provider, target and status, errors included', async () => {
    const metrics = await scrape(`${gateway.url}/metrics`);
    expect(
      metrics.value('lightport_requests_total', { model: 'fast', provider: 'openai', target: 'openai/gpt-4o-mini', status: '200' }),
    ).toBe(4);
    expect(metrics.value('lightport_requests_total', { model: `openai/${FAKE_MODELS.serverError}`, status: '500' })).toBe(1);
    expect(metrics.value('lightport_requests_total', { model: `openai/${FAKE_MODELS.rateLimited}`, status: '429' })).toBe(1);
    expect(metrics.value('lightport_requests_total', { status: '400', operation: 'chat' })).toBe(1);
    expect(metrics.value('lightport_requests_total', { model: 'slowmock', provider: 'slow', target: 'slow/slow-1', status: '200' })).toBe(
      2,
    );
    expect(metrics.value('lightport_upstream_errors_total', { provider: 'openai', class: 'server' })).toBe(1);
    expect(metrics.value('lightport_upstream_errors_total', { provider: 'openai', class: 'rate_limit' })).toBe(1);
    // The scrape itself is the one request in flight.
    expect(metrics.value('lightport_requests_in_flight')).toBe(1);
  });

  it('has GenAI-convention histograms with consistent buckets, and error_type only on failures', async () => {
    const metrics = await scrape(`${gateway.url}/metrics`);
    expect(metrics.family('gen_ai_client_operation_duration_seconds')?.type).toBe('histogram');
    const ok = metrics.series('gen_ai_client_operation_duration_seconds', {
      gen_ai_request_model: 'fast',
      gen_ai_provider_name: 'openai',
      error_type: '',
    });
    expect(ok).toHaveLength(1);
    const series = ok[0];
    expect(series?.count).toBe(4);
    const buckets = Object.entries(series?.buckets ?? {})
      .map(([bound, count]) => [bound === '+Inf' ? Infinity : Number(bound), count] as const)
      .toSorted((a, b) => a[0] - b[0]);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]?.[1]).toBeGreaterThanOrEqual(buckets[i - 1]?.[1] ?? 0);
    expect(buckets.at(-1)?.[1]).toBe(4);
    expect(metrics.value('gen_ai_client_operation_duration_seconds', { error_type: 'rate_limit_exceeded' })).toBe(1);
    expect(metrics.value('gen_ai_client_operation_time_to_first_chunk_seconds', { gen_ai_request_model: 'fast' })).toBe(1);
  });

  it('sums input and output tokens and cost as the answers reported them', async () => {
    const metrics = await scrape(`${gateway.url}/metrics`);
    const prompt = usages.reduce((total, usage) => total + usage.prompt, 0);
    const completion = usages.reduce((total, usage) => total + usage.completion, 0);
    expect(metrics.value('lightport_tokens_total', { model: 'fast', type: 'input' })).toBe(prompt);
    expect(metrics.value('lightport_tokens_total', { model: 'fast', type: 'output' })).toBe(completion);
    expect(metrics.sum('gen_ai_client_token_usage', { gen_ai_request_model: 'fast', gen_ai_token_type: 'input' })).toBe(prompt);
    expect(metrics.value('gen_ai_client_token_usage', { gen_ai_request_model: 'fast', gen_ai_token_type: 'output' })).toBe(4);
    const cost = usages.reduce((total, usage) => total + usage.cost, 0);
    expect(metrics.value('lightport_cost_usd_total', { model: 'fast' })).toBeCloseTo(cost, 10);
    // The mock's override price: 10 input tokens at $1/M and 5 output tokens at $2/M, twice.
    expect(metrics.value('lightport_cost_usd_total', { model: 'slowmock' })).toBeCloseTo((2 * (10 * 1 + 5 * 2)) / 1e6, 12);
  });

  it("measures the gateway's overhead apart from the upstream's time, below the total duration", async () => {
    const metrics = await scrape(`${gateway.url}/metrics`);
    const overhead = metrics.sum('lightport_gateway_overhead_seconds', { provider: 'slow' });
    const total = metrics.sum('gen_ai_client_operation_duration_seconds', { gen_ai_request_model: 'slowmock' });
    expect(metrics.value('lightport_gateway_overhead_seconds', { provider: 'slow' })).toBe(2);
    expect(total).toBeGreaterThanOrEqual((2 * MOCK_DELAY_MS) / 1000);
    expect(overhead).toBeGreaterThan(0);
    expect(overhead).toBeLessThan(total);
    expect(overhead).toBeLessThan((2 * MOCK_DELAY_MS) / 1000 / 2);
  });
});

describe('streams and cost', () => {
  it('asks the upstream for usage, hides the extra chunk from a caller who did not ask, and sends the cost as a trailer', async () => {
    const response = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', te: 'trailers' },
      body: JSON.stringify({ model: 'fast', ...ask, stream: true }),
    });
    const text = await response.body.text();
    const events = text.split('\n\n').filter((event) => event.startsWith('data: {'));
    expect(events.length).toBeGreaterThan(2);
    expect(text).not.toMatch(/"usage":\{/);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const sent = upstream.requests.at(-1)?.body as { stream_options?: { include_usage?: boolean } };
    expect(sent.stream_options?.include_usage).toBe(true);
    const trailer = response.trailers['x-lightport-cost-usd'];
    expect(Number(trailer)).toBeGreaterThan(0);
  });

  it('sends no trailer to a stream caller who did not ask for trailers', async () => {
    const response = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fast', ...ask, stream: true }),
    });
    await response.body.text();
    expect(response.headers['trailer']).toBeUndefined();
    expect(response.trailers['x-lightport-cost-usd']).toBeUndefined();
  });

  it('returns the cost of a JSON answer in x-lightport-cost-usd, equal to the catalog price of its usage', async () => {
    const response = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fast', ...ask }),
    });
    const body = (await response.body.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    expect(Number(response.headers['x-lightport-cost-usd'])).toBeCloseTo(catalogCost(body.usage), 12);
    expect(Number(response.headers['content-length'])).toBeGreaterThan(0);
  });
});

describe('metrics on a port of their own, with bounded labels', () => {
  let other: GatewayProcess;

  beforeAll(async () => {
    other = await startGateway({
      config: `
logging: { level: warn }
providers:
  demo: { type: mock }
metrics: { port: 0, max_label_values: 2, process_metrics: false, labels: { user: true } }
`,
    });
  });

  afterAll(async () => {
    await other?.stop();
  });

  it('serves metrics only on metrics.port and reports extra label values as "other"', async () => {
    const match = /metrics: {3}(http:\/\/\S+)/.exec(other.output().stderr);
    expect(match?.[1]).toBeDefined();
    const metricsUrl = match?.[1] ?? '';
    expect((await fetch(`${other.url}/metrics`)).status).toBe(404);
    const mock = new OpenAI({ baseURL: `${other.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    for (const model of ['demo/a', 'demo/b', 'demo/c', 'demo/d']) await mock.chat.completions.create({ model, ...ask, user: 'ann' });
    const metrics = await scrape(metricsUrl);
    const models = new Set(metrics.series('lightport_requests_total').map((series) => series.labels?.['model']));
    expect(models).toEqual(new Set(['demo/a', 'demo/b', 'other']));
    expect(metrics.value('lightport_requests_total', { model: 'other' })).toBe(2);
    // labels.user adds the request's user to the request, token and cost counters (and not to the others).
    expect(metrics.value('lightport_requests_total', { user: 'ann' })).toBe(4);
    expect(metrics.value('lightport_tokens_total', { user: 'ann', type: 'input' })).toBeGreaterThan(0);
    expect(metrics.series('gen_ai_client_operation_duration_seconds').every((series) => !('user' in series.labels))).toBe(true);
    expect(metrics.family('process_cpu_seconds_total')).toBeUndefined();
  });
});
