import { Pool } from 'undici';

/** One model's requests to a gateway: the same body and headers every time. */
export interface ModelTarget {
  readonly origin: string;
  readonly body: string;
  readonly headers: Record<string, string>;
}

export interface Run {
  /** Whole-response latency per request, microseconds. */
  readonly latencyUs: number[];
  readonly failures: number;
  readonly firstFailure: string | undefined;
}

const pools = new Map<string, Pool>();

function poolFor(origin: string, connections: number): Pool {
  const key = `${origin}#${connections}`;
  let pool = pools.get(key);
  if (pool === undefined) pools.set(key, (pool = new Pool(origin, { connections, pipelining: 1 })));
  return pool;
}

export async function closeRoutingPools(): Promise<void> {
  await Promise.allSettled([...pools.values()].map((pool) => pool.close()));
  pools.clear();
}

/** Closed loop: `requests` requests over `connections` connections, each sent when the last one on it ended. */
export async function runRequests(target: ModelTarget, requests: number, connections: number): Promise<Run> {
  const pool = poolFor(target.origin, connections);
  const latencyUs: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < requests) {
      started++;
      const t0 = performance.now();
      try {
        const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: target.headers, body: target.body });
        const text = await response.body.text();
        if (response.statusCode !== 200) {
          failures++;
          firstFailure ??= `HTTP ${response.statusCode} ${text.slice(0, 300)}`;
        }
      } catch (error) {
        failures++;
        firstFailure ??= String(error);
      }
      latencyUs.push((performance.now() - t0) * 1000);
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, requests) }, worker));
  return { latencyUs, failures, firstFailure };
}
