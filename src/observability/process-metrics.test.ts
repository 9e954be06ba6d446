import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { collectProcessMetrics, EventLoopLag } from './process-metrics.ts';

function gaugeValue(text: string, name: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  if (line === undefined) throw new Error(`${name} is not in the scrape`);
  return Number(line.slice(name.length + 1));
}

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // holds the event loop, as a slow synchronous step would
  }
}

describe('process metrics', () => {
  const made: EventLoopLag[] = [];
  afterEach(() => {
    for (const lag of made.splice(0)) lag.close();
  });

  it("registers prom-client's process collectors and the event-loop lag under their usual names", async () => {
    const registry = new Registry();
    made.push(collectProcessMetrics(registry));
    const names = new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'process_open_fds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
      'nodejs_version_info',
      'nodejs_active_handles_total',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_eventloop_lag_max_seconds',
    ]) {
      expect(names, name).toContain(name);
    }
  });

  it('samples the loop only while requests are in flight, and reports a stall seen meanwhile', async () => {
    const registry = new Registry();
    const lag = new EventLoopLag(registry);
    made.push(lag);
    expect(lag.sampling).toBe(false);
    const idle = await registry.metrics();
    expect(gaugeValue(idle, 'nodejs_eventloop_lag_max_seconds')).toBe(0);
    expect(gaugeValue(idle, 'nodejs_eventloop_lag_p99_seconds')).toBe(0);

    lag.requestFinished(0);
    expect(lag.sampling).toBe(false);
    lag.requestFinished(3);
    expect(lag.sampling).toBe(true);
    // The histogram's first sample only starts its clock: the stall comes after it.
    await sleep(150);
    blockFor(300);
    await sleep(250);
    const busy = await registry.metrics();
    expect(gaugeValue(busy, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThan(0.15);
    expect(gaugeValue(busy, 'nodejs_eventloop_lag_seconds')).toBeGreaterThan(0);
    // A scrape reports what it saw since the last one.
    const after = await registry.metrics();
    expect(gaugeValue(after, 'nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.15);
  });

  it('stops when the last request in flight finishes, and starts again when others are', () => {
    const lag = new EventLoopLag(new Registry());
    made.push(lag);
    lag.requestFinished(2);
    lag.requestFinished(1);
    expect(lag.sampling).toBe(true);
    lag.requestFinished(0);
    expect(lag.sampling).toBe(false);
    lag.requestFinished(0);
    expect(lag.sampling).toBe(false);
    lag.requestFinished(5);
    expect(lag.sampling).toBe(true);
  });
});
