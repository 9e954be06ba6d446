// The gateway configs the routing benchmark runs: 20 rules over 10 targets, fallbacks
// behind a refusing and a 503 primary, and a circuit that stays open.

export interface RoutingUpstreams {
  readonly healthy: string;
  readonly unavailable: string;
  readonly refusing: string;
  readonly doomed: string;
}

/** Twenty rules a real deployment might have; the bench request matches none, so all are evaluated. */
export function twentyRules(): string[] {
  const rules: string[] = [];
  for (let i = 0; i < 5; i++) {
    rules.push(`request.metadata.plan == "plan-${i}" && request.estimatedTokens < ${1000 * (i + 1)}`);
    rules.push(`caller.tags.includes("team-${i}") || startsWith(request.model, "tier-${i}-")`);
    rules.push(`request.metadata.region == "region-${i}" && !request.stream`);
    rules.push(`matches(lower(request.metadata.tenant ?? ""), "^tenant-${i}[0-9]+$") && time.hour >= 0`);
  }
  return rules;
}

export function gatewayConfig(upstreams: RoutingUpstreams, circuit: boolean): string {
  const rules = twentyRules()
    .map((rule, index) => `      - { when: '${rule}', target: healthy/model-${index % 9} }`)
    .join('\n');
  return `
server: { port: 0, watch_config: false }
logging: { level: warn }
providers:
  healthy: { type: openai-compatible, base_url: "${upstreams.healthy}/v1", api_key: sk-bench }
  unavailable: { type: openai-compatible, base_url: "${upstreams.unavailable}/v1", api_key: sk-bench }
  refusing: { type: openai-compatible, base_url: "${upstreams.refusing}/v1", api_key: sk-bench }
  doomed: { type: openai-compatible, base_url: "${upstreams.doomed}/v1", api_key: sk-bench }
router:
  circuit: { enabled: ${circuit}, failures: 5, open_ms: 600000 }
models:
  single: { provider: healthy, model: gpt-4o-mini }
  ruled:
    strategy: conditional
    rules:
${rules}
    default: healthy/model-9
  after-refused: { strategy: fallback, targets: [refusing/gpt-4o-mini, healthy/gpt-4o-mini] }
  after-503: { strategy: fallback, targets: [unavailable/gpt-4o-mini, healthy/gpt-4o-mini] }
  failover: { strategy: fallback, targets: [doomed/gpt-4o-mini, healthy/gpt-4o-mini] }
`;
}
