import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { attribute, CollectorStub, type OtlpSpan } from '../support/otlp-collector.ts';

const nanos = (value: string | undefined): bigint => BigInt(value ?? '0');

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('OpenTelemetry traces over OTLP/HTTP', () => {
  const collector = new CollectorStub();
  let gateway: GatewayProcess;

  beforeAll(async () => {
    const origin = await collector.start();
    gateway = await startGateway({
      config: `
logging: { level: warn }
providers:
  demo: { type: mock, first_token_ms: 20, usage: { prompt_tokens: 7, completion_tokens: 3 } }
tracing:
  endpoint: ${origin}/v1/traces
  headers: { x-collector-token: collector-secret }
  service_name: lightport-under-test
  export_delay_ms: 100
`,
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await collector.close();
  });

  it('continues the caller traceparent with a request span and a child span per upstream attempt', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
      body: JSON.stringify({ model: 'demo/echo-1', messages: [{ role: 'user', content: 'trace me' }] }),
    });
    expect(response.status).toBe(200);
    const requestId = response.headers.get('x-request-id');
    await response.text();
    const untraced = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'demo/echo-1', messages: [{ role: 'user', content: 'new trace' }] }),
    });
    await untraced.text();

    for (let tries = 0; tries < 100 && collector.spans().length < 4; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(collector.paths.every((path) => path === '/v1/traces')).toBe(true);
    expect(collector.headers[0]?.['x-collector-token']).toBe('collector-secret');

    const spans = collector.spans();
    const server = spans.find(({ span }) => attribute(span, 'lightport.request_id') === requestId);
    expect(server?.service).toBe('lightport-under-test');
    expect(server?.span).toMatchObject({ traceId: CALLER_TRACE, parentSpanId: CALLER_SPAN, name: 'POST /v1/chat/completions', kind: 2 });
    expect(attribute(server?.span as OtlpSpan, 'gen_ai.request.model')).toBe('demo/echo-1');
    expect(attribute(server?.span as OtlpSpan, 'http.response.status_code')).toBe(200);

    const attempt = spans.find(({ span }) => span.parentSpanId === server?.span.spanId)?.span;
    expect(attempt).toMatchObject({ traceId: CALLER_TRACE, name: 'chat echo-1', kind: 3 });
    expect(attribute(attempt as OtlpSpan, 'gen_ai.provider.name')).toBe('mock');
    expect(attribute(attempt as OtlpSpan, 'gen_ai.usage.input_tokens')).toBe(7);
    expect(attribute(attempt as OtlpSpan, 'gen_ai.usage.output_tokens')).toBe(3);
    expect(nanos(attempt?.startTimeUnixNano)).toBeGreaterThanOrEqual(nanos(server?.span.startTimeUnixNano));
    expect(nanos(attempt?.endTimeUnixNano)).toBeLessThanOrEqual(nanos(server?.span.endTimeUnixNano));
    expect(nanos(attempt?.endTimeUnixNano) - nanos(attempt?.startTimeUnixNano)).toBeGreaterThanOrEqual(20_000_000n);

    const fresh = spans.find(({ span }) => span.name === 'POST /v1/chat/completions' && span.traceId !== CALLER_TRACE)?.span;
    expect(fresh?.parentSpanId ?? '').toBe('');
  });
});
