import { describe, expect, it } from 'vitest';
import { metricsSchema } from '../config/observability-schema.ts';
import { finishedRequest } from '../../test/support/request-events.ts';
import { circuitChanged, requestFinished } from './events.ts';
import { GatewayMetrics } from './metrics.ts';

describe('GatewayMetrics', () => {
  const metrics = new GatewayMetrics(metricsSchema.parse({ process_metrics: false }), { inFlight: () => 3 });

  it('reports circuit state changes published by the router, per target', async () => {
    circuitChanged.publish({ target: 'openai/gpt-4o', state: 'open' });
    circuitChanged.publish({ target: 'anthropic/claude', state: 'half_open' });
    circuitChanged.publish({ target: 'openai/gpt-4o', state: 'closed' });
    const text = await metrics.render();
    expect(text).toContain('lightport_circuit_state{target="openai/gpt-4o"} 0');
    expect(text).toContain('lightport_circuit_state{target="anthropic/claude"} 1');
    expect(text).toContain('lightport_requests_in_flight 3');
  });

  it('counts retries and fallbacks from the attempts of a request', async () => {
    const attempt = { requestId: 'r', providerType: 'openai', outcome: 'upstream_error', status: 503, startMs: 0, durationMs: 1 } as const;
    const a = { ...attempt, provider: 'a', upstreamModel: 'm1', target: 'a/m1', errorClass: 'overloaded' } as const;
    const event = finishedRequest({
      operation: 'chat',
      model: 'fast',
      provider: 'b',
      providerType: 'openai',
      upstreamModel: 'm2',
      attempts: [
        { ...a, attempt: 1, retry: false, fallback: false },
        { ...a, attempt: 2, retry: true, fallback: false },
        {
          ...attempt,
          provider: 'b',
          upstreamModel: 'm2',
          target: 'b/m2',
          attempt: 3,
          retry: false,
          fallback: true,
          outcome: 'ok',
          status: 200,
        },
      ],
    });
    requestFinished.publish(event);
    const text = await metrics.render();
    expect(text).toContain('lightport_upstream_errors_total{provider="a",target="a/m1",class="overloaded"} 2');
    expect(text).toContain('lightport_upstream_retries_total{provider="a",target="a/m1"} 1');
    expect(text).toContain('lightport_upstream_fallbacks_total{provider="b",target="b/m2"} 1');
    metrics.close();
  });
});
