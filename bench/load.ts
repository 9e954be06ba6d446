import { Pool } from 'undici';

export interface Target {
  name: string;
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** Bodies by request kind; the same JSON for every target except the model name. */
  bodies: { plain: string; stream: string };
}

export type RequestKind = 'plain' | 'stream';

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

/** One pool per target and concurrency, kept across phases so connections stay warm. */
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

function countEvents(text: string): number {
  let count = 0;
  for (let at = text.indexOf('data:'); at !== -1; at = text.indexOf('data:', at + 5)) count++;
  return count;
}

/** Sends `requests` requests over `connections` connections, each connection one request at a time. */
export async function runLoad(
  target: Target,
  kind: RequestKind,
  requests: number,
  connections: number,
): Promise<LoadResult> {
  const pool = poolFor(target, connections);
  const body = target.bodies[kind];
  const latencyUs = new Float64Array(requests);
  const firstByteUs = new Float64Array(requests);
  let done = 0;
  let started = 0;
  let events = 0;
  let errors = 0;
  let firstError: string | undefined;

  const one = async (): Promise<void> => {
    const t0 = process.hrtime.bigint();
    let firstByte = 0n;
    let text = '';
    let status = 0;
    try {
      const response = await pool.request({ path: target.path, method: 'POST', headers: target.headers, body });
      status = response.statusCode;
      for await (const part of response.body) {
        if (firstByte === 0n) firstByte = process.hrtime.bigint();
        if (kind === 'stream' || status !== 200) text += (part as Buffer).toString('utf8');
      }
    } catch (error) {
      text = String(error);
    }
    const t1 = process.hrtime.bigint();
    latencyUs[done] = Number(t1 - t0) / 1000;
    firstByteUs[done] = Number((firstByte || t1) - t0) / 1000;
    done++;
    const streamComplete = kind === 'plain' || text.endsWith('data: [DONE]\n\n');
    if (status !== 200 || !streamComplete) {
      errors++;
      firstError ??= `${target.name}: HTTP ${status} ${text.slice(0, 500)}`;
    } else if (kind === 'stream') {
      events += countEvents(text);
    }
  };

  const worker = async (): Promise<void> => {
    while (started < requests) {
      started++;
      await one();
    }
  };

  const begin = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(connections, requests) }, worker));
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

/** Nearest-rank percentile of microsecond samples. */
export function percentile(samples: Float64Array, p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
