import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Gauge, type Registry } from 'prom-client';

/**
 * prom-client's default process collectors, all but its event-loop lag: that one keeps a
 * timer firing for as long as the process lives, and on a virtual machine each wake-up of an
 * idle process costs more than a request's worth of CPU (about 1.6 ms a second at 100 ms).
 * `EventLoopLag` below takes its place under the same metric names.
 */
const PROM_CLIENT_COLLECTORS = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;

type Collector = (registry: Registry, config: object) => void;

const requireCollector = createRequire(import.meta.url);

/**
 * The histogram's sampling interval while requests are in flight. A sample that falls while the
 * loop would have slept is a wake-up of its own, so it stays coarse: a stall still shows as the
 * delay of the sample it held up.
 */
const SAMPLE_MS = 100;

/**
 * Event-loop delay, sampled only while requests are in flight: that is when a delay costs
 * anyone anything, and sampling an idle loop would wake the process ten times a second for
 * nothing (between bursts as much as when idle for good). Told of every finished request and of
 * how many others are still in flight, it samples while there are some and stops when there are
 * none; under load it stays on. (A histogram's first sample after it starts only starts its
 * clock, so an isolated request adds no sample.) A scrape reports the delays seen since the last
 * scrape (zero when there were none), and the lag of one event-loop turn, measured then.
 */
export class EventLoopLag {
  readonly #histogram: ReturnType<typeof monitorEventLoopDelay> = monitorEventLoopDelay({ resolution: SAMPLE_MS });
  #sampling = false;

  constructor(registry: Registry) {
    const registers = [registry];
    const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers });
    const lag = new Gauge({
      name: 'nodejs_eventloop_lag_seconds',
      help: 'Lag of event loop in seconds.',
      registers,
      // The histogram's gauges are set before the first await: the registry reads every metric at once.
      collect: async () => {
        const histogram = this.#histogram;
        const seen = histogram.count > 0;
        const seconds = (nanoseconds: number): number => (seen ? nanoseconds / 1e9 : 0);
        min.set(seconds(histogram.min));
        max.set(seconds(histogram.max));
        mean.set(seconds(histogram.mean));
        stddev.set(seconds(histogram.stddev));
        p50.set(seconds(histogram.percentile(50)));
        p90.set(seconds(histogram.percentile(90)));
        p99.set(seconds(histogram.percentile(99)));
        histogram.reset();
        const started = process.hrtime.bigint();
        await nextTurn();
        lag.set(Number(process.hrtime.bigint() - started) / 1e9);
      },
    });
    const min = gauge('nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.');
    const max = gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.');
    const mean = gauge('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.');
    const stddev = gauge('nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.');
    const p50 = gauge('nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.');
    const p90 = gauge('nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.');
    const p99 = gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.');
  }

  /** A request finished with `othersInFlight` still being served. */
  requestFinished(othersInFlight: number): void {
    if (othersInFlight > 0) {
      if (this.#sampling) return;
      this.#sampling = true;
      this.#histogram.enable();
    } else if (this.#sampling) {
      this.#sampling = false;
      this.#histogram.disable();
    }
  }

  get sampling(): boolean {
    return this.#sampling;
  }

  close(): void {
    this.#sampling = false;
    this.#histogram.disable();
  }
}

/** Node.js process metrics (CPU, memory, handles, GC, event-loop lag) on the registry. */
export function collectProcessMetrics(registry: Registry): EventLoopLag {
  for (const name of PROM_CLIENT_COLLECTORS) {
    if (name === 'processResources' && typeof process.getActiveResourcesInfo !== 'function') continue;
    (requireCollector(`prom-client/lib/metrics/${name}`) as Collector)(registry, {});
  }
  return new EventLoopLag(registry);
}
