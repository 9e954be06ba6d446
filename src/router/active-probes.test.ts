import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startActiveProbes, type ActiveProbes } from './active-probes.ts';
import type { RoutingTable } from './routing-table.ts';

/** A routing table reduced to what the prober reads: the interval, and the targets (counted). */
function routing(interval: number | undefined): { current: RoutingTable; looks: number } {
  const state = { looks: 0, current: undefined as unknown as RoutingTable };
  state.current = {
    config: { router: { circuit: { probe_interval_ms: interval } } },
    targets: () => {
      state.looks++;
      return [];
    },
  } as unknown as RoutingTable;
  return state;
}

describe('active probes', () => {
  let probes: ActiveProbes | undefined;
  afterEach(() => probes?.stop());

  it('looks at the targets every interval while probing is on', async () => {
    const state = routing(20);
    probes = startActiveProbes(state);
    await sleep(130);
    expect(state.looks).toBeGreaterThanOrEqual(3);
  });

  it('sets no timer while probing is off, and starts when a reload switches it on', async () => {
    const state = routing(undefined);
    probes = startActiveProbes(state);
    await sleep(60);
    expect(state.looks).toBe(0);
    state.current = routing(20).current;
    const reloaded = state.current as unknown as { targets: () => unknown[] };
    let looks = 0;
    reloaded.targets = () => {
      looks++;
      return [];
    };
    probes.configChanged();
    probes.configChanged();
    await sleep(130);
    expect(looks).toBeGreaterThanOrEqual(3);
    // One prober, not two: at 20 ms over 130 ms it looks at most about six times.
    expect(looks).toBeLessThanOrEqual(8);
  });

  it('stops looking once stopped', async () => {
    const state = routing(20);
    probes = startActiveProbes(state);
    await sleep(50);
    probes.stop();
    const seen = state.looks;
    await sleep(80);
    expect(state.looks).toBe(seen);
  });
});
