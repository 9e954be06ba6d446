// Replays recorded provider responses through a running gateway and checks what the openai SDK gets.
// Usage: npm run conformance -- DIR   (DIR laid out as ../shared/fixtures/providers)
import path from 'node:path';
import OpenAI from 'openai';
import { startGateway, type GatewayProcess } from '../test/support/gateway-process.ts';
import { discoverCases, PROVIDER_DIRS, type Case } from './cases.ts';
import { checkCompletion, checkEmbeddings, checkError, checkResponsesRelay, checkStream, checkTwins } from './checks.ts';
import { startReplayUpstream, type ReplayUpstream } from './replay.ts';

type Verdict = { readonly result: 'pass' | 'fail'; readonly detail: string };

function gatewayConfig(providers: readonly string[], replay: ReplayUpstream): string {
  const lines = ['providers:'];
  for (const provider of providers) {
    const known = PROVIDER_DIRS[provider];
    if (!known) continue;
    lines.push(`  ${provider}:`, `    type: ${known.type}`, `    base_url: ${replay.baseUrl(provider)}`);
    if (known.type === 'bedrock')
      lines.push('    region: us-east-1', '    access_key_id: AKIDCONFORMANCE', '    secret_access_key: conformance-secret');
    else lines.push('    api_key: conformance-key');
  }
  return lines.join('\n') + '\n';
}

async function runCase(client: OpenAI, gateway: GatewayProcess, item: Case): Promise<Verdict> {
  const known = PROVIDER_DIRS[item.provider];
  if (!known) return { result: 'fail', detail: `no gateway provider for recordings of '${item.provider}'` };
  const model = `${item.provider}/${item.name}`;
  if (known.route === 'responses') {
    const done = await checkResponsesRelay(gateway, model, item.json, item.chunks);
    return { result: 'pass', detail: done.join(', ') };
  }
  const done: string[] = [];
  let completion;
  if (item.json?.kind === 'error') {
    await checkError(client, model, item.json);
    done.push(`error ${item.json.status}`);
  } else if (item.json?.kind === 'embeddings') {
    await checkEmbeddings(client, model);
    done.push('embeddings');
  } else if (item.json?.kind === 'completion') {
    completion = await checkCompletion(client, model);
    done.push('completion');
  }
  if (item.chunks) {
    const streamed = await checkStream(client, model);
    done.push('stream');
    if (completion) {
      checkTwins(completion, streamed);
      done.push('twins agree');
    }
  }
  return { result: 'pass', detail: done.join(', ') };
}

async function main(): Promise<number> {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: npm run conformance -- DIR\n');
    return 2;
  }
  const cases = discoverCases(path.resolve(dir));
  if (cases.length === 0) {
    process.stdout.write(`no recorded cases in ${dir}\n0 passed, 0 failed\n`);
    return 1;
  }
  const replay = await startReplayUpstream(cases);
  const gateway = await startGateway({
    config: gatewayConfig([...new Set(cases.map((item) => item.provider))], replay),
    // Info level: the access log is where the relayed answers' usage is checked.
    env: { LIGHTPORT_LOG_LEVEL: 'info' },
  });
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'conformance', maxRetries: 0 });
  const counts = { pass: 0, fail: 0 };
  try {
    for (const item of cases) {
      let verdict: Verdict;
      try {
        verdict = await runCase(client, gateway, item);
      } catch (error) {
        verdict = { result: 'fail', detail: error instanceof Error ? error.message : String(error) };
      }
      counts[verdict.result]++;
      process.stdout.write(`${verdict.result.toUpperCase().padEnd(4)} ${item.provider}/${item.name}: ${verdict.detail}\n`);
    }
  } finally {
    await gateway.stop();
    await replay.close();
  }
  process.stdout.write(`${counts.pass} passed, ${counts.fail} failed\n`);
  return counts.fail > 0 || counts.pass === 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
