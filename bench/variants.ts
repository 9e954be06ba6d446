// The gateway variants the instruction-count and native-profile suites compare: the bare proxy,
// the gateway with every feature off, with observability on, with keys alone, with keys and limits
// in memory (x-ratelimit-* on refusals, the default, and on every answer) and on Redis, and serving
// exact cache hits; and the load they are driven with.
import path from 'node:path';
import type { Pool } from 'undici';

const GATEWAY_KEY = 'lp-bench-key-0123456789abcdef';
const LIMITS = '{ requests_per_minute: 100000000, tokens_per_minute: 1000000000, concurrent: 10000 }';

export interface Variant {
  readonly name: string;
  readonly args: (configFile: string) => string[];
  readonly config?: (directory: string) => string;
  readonly model: string;
  readonly authorization?: string;
}

const provider = `providers:
  openai: { type: openai, api_key: sk-bench-not-a-real-key, base_url: "\${OPENAI_BASE_URL}" }
`;
const gateway = (configFile: string): string[] => ['bin/lightport.js', 'start', '--config', configFile, '--port', '0'];
const limitsConfig = (backend: string, headers = 'refused'): string => `${provider}logging: { level: warn }
metrics: { enabled: false }
auth:
  enabled: true
  keys:
    - { name: bench, key: ${GATEWAY_KEY}, team: perf, limits: ${LIMITS} }
limits:
  backend: ${backend}
  headers: ${headers}
  global: ${LIMITS}
state:
  redis: { url: "redis://127.0.0.1:6379", prefix: "lightport-bench-instructions-${crypto.randomUUID()}:" }
`;

export const VARIANTS: readonly Variant[] = [
  { name: 'bare', args: () => ['bench/bare-proxy.ts'], model: 'gpt-4o-mini' },
  {
    name: 'off',
    args: gateway,
    config: () => `${provider}logging: { level: warn }\nmetrics: { enabled: false }\n`,
    model: 'openai/gpt-4o-mini',
  },
  {
    name: 'observability',
    args: gateway,
    // flush_ms 5000: at the few hundred requests a second valgrind allows, the default 1 s would
    // write batches of a few hundred rows instead of the full 1,000 a loaded gateway writes.
    config: (directory) => `${provider}logging: { level: info, bodies: off }
metrics: { enabled: true }
request_log: { sqlite_path: "${path.join(directory, 'requests.db')}", flush_ms: 5000 }
`,
    model: 'openai/gpt-4o-mini',
  },
  {
    name: 'keys',
    args: gateway,
    config: () => `${provider}logging: { level: warn }
metrics: { enabled: false }
auth:
  enabled: true
  keys:
    - { name: bench, key: ${GATEWAY_KEY}, team: perf }
`,
    model: 'openai/gpt-4o-mini',
    authorization: GATEWAY_KEY,
  },
  {
    name: 'limits_memory_all_headers',
    args: gateway,
    config: () => limitsConfig('memory', 'all'),
    model: 'openai/gpt-4o-mini',
    authorization: GATEWAY_KEY,
  },
  {
    name: 'limits_memory',
    args: gateway,
    config: () => limitsConfig('memory'),
    model: 'openai/gpt-4o-mini',
    authorization: GATEWAY_KEY,
  },
  {
    name: 'limits_redis',
    args: gateway,
    config: () => limitsConfig('redis'),
    model: 'openai/gpt-4o-mini',
    authorization: GATEWAY_KEY,
  },
  {
    name: 'cache_hit',
    args: gateway,
    config: () => `${provider}logging: { level: warn }
models:
  cached: { provider: openai, model: gpt-4o-mini }
cache: { enabled: true }
`,
    model: 'cached',
  },
];

/** Closed loop: `connections` requests in flight until `requests` are done; throws on any non-200. */
export async function load(pool: Pool, variant: Variant, requests: number, connections: number): Promise<void> {
  const body = JSON.stringify({
    model: variant.model,
    temperature: 0,
    messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
  });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${variant.authorization ?? 'sk-bench-client'}` };
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < requests) {
      started++;
      const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`${variant.name}: HTTP ${response.statusCode}: ${text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}
