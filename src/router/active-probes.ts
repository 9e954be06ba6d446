import type { ResponseSink } from '../providers/types.ts';
import type { RoutingTable } from './routing-table.ts';

const DISCARD: ResponseSink = { start: () => {}, write: () => true, onDrain: (resume) => resume(), end: () => {} };
const PROBE_TIMEOUT_MS = 10_000;

/**
 * While a target's circuit is open, sends it a one-token request every interval; a
 * success closes the circuit (and tells the other replicas) without waiting for a real
 * request to be the half-open probe. Off unless router.circuit.probe_interval_ms is set.
 */
export interface ActiveProbes {
  /** A config reload may have switched probing on or changed its interval. */
  configChanged(): void;
  stop(): void;
}

export function startActiveProbes(routing: { readonly current: RoutingTable }): ActiveProbes {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // With probing off no timer runs at all (an idle gateway is not woken for nothing); a reload
  // that switches it on says so through configChanged.
  const schedule = (): void => {
    timer = undefined;
    const interval = routing.current.config.router.circuit.probe_interval_ms;
    if (stopped || interval === undefined) return;
    timer = setTimeout(() => void tick().finally(schedule), interval).unref();
  };
  const tick = async (): Promise<void> => {
    const table = routing.current;
    if (table.config.router.circuit.probe_interval_ms === undefined) return;
    const open = table.targets().filter((target) => target.health.circuit.state === 'open');
    await Promise.all(
      open.map(async (target) => {
        const outcome = await target.provider.chat(
          { model: target.upstreamModel, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 },
          {
            upstreamModel: target.upstreamModel,
            sink: DISCARD,
            signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
            requestId: 'lightport-probe',
          },
        );
        if (outcome.kind === 'ok') target.health.circuit.closeAfterProbe();
      }),
    );
  };
  schedule();
  return {
    configChanged: () => {
      // A timer already set (or a tick in flight, whose timer has fired) reads the interval again when it ends.
      if (timer === undefined) schedule();
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
