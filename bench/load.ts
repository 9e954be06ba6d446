import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

export interface Target {
  name: string;
  origin: string;
  path: string;
  headers: Record<string, string>;
  bodies: Record<RequestKind, string>;
}

export type RequestKind = 'plain' | 'stream';

export interface LoadShape {
  /** Connections to the target; each carries one request at a time. */
  connections: number;
  /**
   * Open loop: start requests at this steady rate (the excess waits in the pool's queue) instead
   * of sending the next one as soon as one finishes. A process's CPU per request depends on how
   * busy it is (more requests per wake-up when busier), so a fixed rate compares proxies under
   * the same conditions, where a closed loop lets the faster one earn cheaper requests.
   */
  ratePerSecond?: number;
}

export interface LoadResult {
  requests: number;
  /** Whole-response latency per request, microseconds, in completion order. */
  latencyUs: Float64Array;
  /** Time to the first body byte, microseconds. */
  firstByteUs: Float64Array;
  /** `data:` events received over all responses (streams only). */
  events: number;
  errors: number;
  firstError: string | undefined;
  elapsedMs: number;
}

const pools = new Map<string, Pool>();

/** One pool per target and connection count, kept across phases so connections stay warm. */
function poolFor(target: Target, connections: number): Pool {
  const key = `${target.name}/${connections}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new Pool(target.origin, { connections, pipelining: 1 });
    pools.set(key, pool);
  }
  return pool;
}

export async function closePools(): Promise<void> {
  await Promise.allSettled([...pools.values()].map((pool) => pool.close()));
  pools.clear();
}

interface Exchange {
  status: number;
  firstByte: bigint;
  text: string;
}

/** The cheapest undici call (no Readable per response), so the load generator stays light. */
function exchange(pool: Pool, target: Target, body: string, keepText: boolean): Promise<Exchange> {
  return new Promise((resolve) => {
    const result: Exchange = { status: 0, firstByte: 0n, text: '' };
    pool.dispatch(
      { path: target.path, method: 'POST', headers: target.headers, body },
      {
        // undici tells new-style handlers from legacy ones by this method.
        onRequestStart() {},
        onResponseStart(_controller, statusCode) {
          result.status = statusCode;
        },
        onResponseData(_controller, chunk) {
          if (result.firstByte === 0n) result.firstByte = process.hrtime.bigint();
          if (keepText || result.status !== 200) result.text += chunk.toString('utf8');
        },
        onResponseEnd() {
          resolve(result);
        },
        onResponseError(_controller, error) {
          resolve({ ...result, status: 0, text: String(error) });
        },
      },
    );
  });
}

function countEvents(text: string): number {
  let count = 0;
  for (let at = text.indexOf('data:'); at !== -1; at = text.indexOf('data:', at + 5)) count++;
  return count;
}

/** Sends `requests` requests to a target: closed loop over the connections, or open loop at a fixed rate. */
export async function runLoad(target: Target, kind: RequestKind, requests: number, shape: LoadShape): Promise<LoadResult> {
  const pool = poolFor(target, shape.connections);
  const body = target.bodies[kind];
  const latencyUs = new Float64Array(requests);
  const firstByteUs = new Float64Array(requests);
  let started = 0;
  let done = 0;
  let events = 0;
  let errors = 0;
  let firstError: string | undefined;

  const one = async (): Promise<void> => {
    const t0 = process.hrtime.bigint();
    const { status, firstByte, text } = await exchange(pool, target, body, kind === 'stream');
    const t1 = process.hrtime.bigint();
    latencyUs[done] = Number(t1 - t0) / 1000;
    firstByteUs[done] = Number((firstByte || t1) - t0) / 1000;
    done++;
    if (status !== 200 || (kind === 'stream' && !text.endsWith('data: [DONE]\n\n'))) {
      errors++;
      firstError ??= `${target.name}: HTTP ${status} ${text.slice(0, 500)}`;
    } else if (kind === 'stream') {
      events += countEvents(text);
    }
  };

  const closedLoop = async (): Promise<void> => {
    while (started < requests) {
      started++;
      await one();
    }
  };

  const begin = process.hrtime.bigint();
  const openLoop = async (rate: number): Promise<void> => {
    const inFlight: Promise<void>[] = [];
    while (started < requests) {
      const elapsedSeconds = Number(process.hrtime.bigint() - begin) / 1e9;
      const due = Math.min(requests, Math.floor(elapsedSeconds * rate) + 1);
      for (; started < due; started++) inFlight.push(one());
      await sleep(1);
    }
    await Promise.all(inFlight);
  };

  if (shape.ratePerSecond) await openLoop(shape.ratePerSecond);
  else await Promise.all(Array.from({ length: Math.min(shape.connections, requests) }, closedLoop));
  const elapsedMs = Number(process.hrtime.bigint() - begin) / 1e6;
  return { requests, latencyUs, firstByteUs, events, errors, firstError, elapsedMs };
}

export function mergeResults(results: LoadResult[]): LoadResult {
  const concat = (pick: (r: LoadResult) => Float64Array): Float64Array => {
    const out = new Float64Array(results.reduce((n, r) => n + pick(r).length, 0));
    let offset = 0;
    for (const r of results) {
      out.set(pick(r), offset);
      offset += pick(r).length;
    }
    return out;
  };
  return {
    requests: results.reduce((n, r) => n + r.requests, 0),
    latencyUs: concat((r) => r.latencyUs),
    firstByteUs: concat((r) => r.firstByteUs),
    events: results.reduce((n, r) => n + r.events, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    firstError: results.find((r) => r.firstError !== undefined)?.firstError,
    elapsedMs: results.reduce((n, r) => n + r.elapsedMs, 0),
  };
}
