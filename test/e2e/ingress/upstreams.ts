import { startOpenAIUpstream, type OpenAIUpstream } from '../../fakes/openai-upstream.ts';
import { ANTHROPIC_KEY, anthropicDialect } from '../../fakes/providers/anthropic.ts';
import { startFakeProvider, type FakeProvider } from '../../fakes/providers/harness.ts';
import { startGateway, type GatewayProcess } from '../../support/gateway-process.ts';

/** A gateway in front of an Anthropic fake (`claude/...`) and an OpenAI fake (`openai/...`), for the ingress suites. */
export interface IngressSetup {
  readonly anthropicFake: FakeProvider;
  readonly openaiFake: OpenAIUpstream;
  readonly gateway: GatewayProcess;
  stop(): Promise<void>;
}

/** `extraProviders`: more lines of `providers:`, each indented by two spaces; `extraYaml`: top-level sections after it. */
export async function startIngressSetup(extraYaml = '', extraProviders = ''): Promise<IngressSetup> {
  const [anthropicFake, openaiFake] = await Promise.all([startFakeProvider(anthropicDialect, '/v1'), startOpenAIUpstream()]);
  const gateway = await startGateway({
    config: `
providers:
  claude: { type: anthropic, base_url: ${anthropicFake.url}, api_key: ${ANTHROPIC_KEY} }
  openai: { type: openai, base_url: ${openaiFake.url}, api_key: sk-upstream-ingress }
${extraProviders}${extraYaml}`,
  });
  return {
    anthropicFake,
    openaiFake,
    gateway,
    stop: async () => {
      await gateway.stop();
      await Promise.all([anthropicFake.close(), openaiFake.close()]);
    },
  };
}
