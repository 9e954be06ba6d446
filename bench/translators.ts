// CPU the gateway spends per streamed chunk through the Anthropic and Gemini translators, and through
// the Messages and Responses ingress adapters (over chat, and the Messages relay), against the OpenAI
// passthrough, in one run over the same fake upstream. Target: ratio ≤ 1.5.
// Usage: node bench/translators.ts   (env: BENCH_SCALE=0.1 for a quick run)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { planPinning, pinThisProcess } from './cpu-pinning.ts';
import { processTreeCpuSeconds } from './proc-cpu.ts';
import { spawnServer, type RunningServer } from './spawn-server.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Content chunks per stream, the same for every format. */
const CHUNKS = 40;
const CONNECTIONS = 16;
/** Short rounds, many of them: each case's CPU is compared with the passthrough's in the same round. */
const ROUNDS = 12;

type Format = 'openai' | 'anthropic' | 'google';

function sse(data: unknown, event?: string, eol = '\n'): string {
  return `${event ? `event: ${event}${eol}` : ''}data: ${JSON.stringify(data)}${eol}${eol}`;
}

function openAIChunk(delta: object, finish: string | null): Record<string, unknown> {
  return {
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-bench',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

/** One stream of CHUNKS text pieces in each provider's own framing, as separate writes. */
function streamEvents(format: Format): Buffer[] {
  const pieces = Array.from({ length: CHUNKS }, (_value, index) => `word${index} `);
  const events: string[] = [];
  if (format === 'openai') {
    events.push(sse(openAIChunk({ role: 'assistant', content: '' }, null)));
    for (const piece of pieces) events.push(sse(openAIChunk({ content: piece }, null)));
    events.push(
      sse(openAIChunk({}, 'stop')),
      sse({ ...openAIChunk({}, null), choices: [], usage: { prompt_tokens: 9, completion_tokens: CHUNKS, total_tokens: 9 + CHUNKS } }),
    );
    events.push('data: [DONE]\n\n');
  } else if (format === 'anthropic') {
    const usage = { input_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 };
    events.push(
      sse(
        {
          type: 'message_start',
          message: { id: 'msg_bench', type: 'message', role: 'assistant', model: 'claude-bench', content: [], usage },
        },
        'message_start',
      ),
    );
    events.push(sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'));
    for (const text of pieces)
      events.push(sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }, 'content_block_delta'));
    events.push(sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'));
    events.push(sse({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: CHUNKS } }, 'message_delta'));
    events.push(sse({ type: 'message_stop' }, 'message_stop'));
  } else {
    const usageMetadata = { promptTokenCount: 9, candidatesTokenCount: CHUNKS, totalTokenCount: 9 + CHUNKS };
    pieces.forEach((text, index) => {
      const last = index === pieces.length - 1;
      const candidate = { content: { parts: [{ text }], role: 'model' }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) };
      events.push(sse({ candidates: [candidate], usageMetadata, modelVersion: 'gemini-bench', responseId: 'bench' }, undefined, '\r\n'));
    });
  }
  return events.map((event) => Buffer.from(event));
}

export function startUpstream(): Promise<{ server: Server; origin: string }> {
  const streams: Record<Format, Buffer[]> = {
    openai: streamEvents('openai'),
    anthropic: streamEvents('anthropic'),
    google: streamEvents('google'),
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const format: Format = req.url?.startsWith('/anthropic') ? 'anthropic' : req.url?.startsWith('/google') ? 'google' : 'openai';
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const event of streams[format]) res.write(event);
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })),
  );
}

export function gatewayConfig(upstream: string): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'lightport-bench-'));
  const file = path.join(directory, 'lightport.yaml');
  writeFileSync(
    file,
    [
      'logging: { level: warn }',
      'providers:',
      `  openai: { type: openai, base_url: ${upstream}/openai/v1, api_key: sk-bench }`,
      // An OpenAI-compatible server has no Responses API: the gateway adapts Responses over its chat.
      `  compat: { type: openai-compatible, base_url: ${upstream}/openai/v1 }`,
      `  anthropic: { type: anthropic, base_url: ${upstream}/anthropic/v1, api_key: sk-ant-bench }`,
      `  google: { type: google, base_url: ${upstream}/google/v1beta, api_key: bench-key }`,
      '',
    ].join('\n'),
  );
  return file;
}

/** What the client sends and how its stream must end, per measured case. */
interface Case {
  readonly path: string;
  readonly body: string;
  /** Whether the client got the whole stream. */
  done(text: string): boolean;
}

const messages = [{ role: 'user', content: 'Say hello.' }];
const chat = (format: Format): Case => ({
  path: '/v1/chat/completions',
  body: JSON.stringify({ model: `${format}/bench-model`, stream: true, messages }),
  done: (text) => text.endsWith('data: [DONE]\n\n'),
});
const messageStop = (text: string): boolean => text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n');
const CASES = {
  openai: chat('openai'),
  anthropic: chat('anthropic'),
  google: chat('google'),
  /** Anthropic's Messages API translated over the OpenAI chat stream. */
  messagesOverChat: {
    path: '/v1/messages',
    body: JSON.stringify({ model: 'openai/bench-model', max_tokens: 100, stream: true, messages }),
    done: messageStop,
  },
  /** The Messages API relayed to Anthropic as it is. */
  messagesRelayed: {
    path: '/v1/messages',
    body: JSON.stringify({ model: 'anthropic/bench-model', max_tokens: 100, stream: true, messages }),
    done: messageStop,
  },
  /** OpenAI's Responses API adapted over the OpenAI chat stream. */
  responsesOverChat: {
    path: '/v1/responses',
    body: JSON.stringify({ model: 'compat/bench-model', stream: true, input: 'Say hello.', store: false }),
    done: (text: string) => text.includes('event: response.completed\n'),
  },
} as const satisfies Record<string, Case>;
type CaseName = keyof typeof CASES;

async function drive(pool: Pool, name: CaseName, streams: number): Promise<void> {
  const { path: urlPath, body, done } = CASES[name];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next++ < streams) {
      const response = await pool.request({ method: 'POST', path: urlPath, headers: { 'content-type': 'application/json' }, body });
      const text = await response.body.text();
      if (response.statusCode !== 200 || !done(text)) throw new Error(`${name}: HTTP ${response.statusCode}: ${text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Starts its own fake upstream and gateway; returns µs of gateway CPU per streamed chunk and the ratios. */
export async function runTranslatorBench(): Promise<Record<string, number>> {
  const scale = Number(process.env['BENCH_SCALE'] ?? '1');
  const streams = Math.max(50, Math.round(700 * scale));
  // The gateway gets a core of its own; this process (load and fake upstream) the others.
  const pinning = planPinning();
  if (pinning.drivers) pinThisProcess(pinning.drivers);
  const upstream = await startUpstream();
  let gateway: RunningServer | undefined;
  try {
    gateway = await spawnServer('gateway', ['bin/lightport.js', 'start', '--config', gatewayConfig(upstream.origin), '--port', '0'], {
      cwd: repoRoot,
      ...(pinning.proxies ? { cpus: pinning.proxies } : {}),
    });
    const pool = new Pool(gateway.origin, { connections: CONNECTIONS });
    const names = Object.keys(CASES) as CaseName[];
    for (const name of names) await drive(pool, name, Math.max(20, Math.round(streams / 5)));
    const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<CaseName, number[]>;
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so drift in machine noise hits every case alike.
      for (let offset = 0; offset < names.length; offset++) {
        const name = names[(round + offset) % names.length] as CaseName;
        const before = processTreeCpuSeconds(gateway.pid);
        await drive(pool, name, streams);
        samples[name].push(((processTreeCpuSeconds(gateway.pid) - before) * 1e6) / (streams * CHUNKS));
      }
    }
    await pool.close();
    const perChunk = (name: CaseName): number => median(samples[name]);
    /** The median over rounds of the case's CPU ÷ the passthrough's in the same round: drift cancels. */
    const ratio = (name: CaseName): number => median(samples[name].map((value, round) => value / (samples.openai[round] ?? Number.NaN)));
    return {
      passthroughCpuPerChunkUs: perChunk('openai'),
      anthropicCpuPerChunkUs: perChunk('anthropic'),
      geminiCpuPerChunkUs: perChunk('google'),
      anthropicVsPassthrough: ratio('anthropic'),
      geminiVsPassthrough: ratio('google'),
      messagesOverChatVsPassthrough: ratio('messagesOverChat'),
      messagesRelayedVsPassthrough: ratio('messagesRelayed'),
      responsesOverChatVsPassthrough: ratio('responsesOverChat'),
    };
  } finally {
    await gateway?.stop();
    upstream.server.closeAllConnections();
    upstream.server.close();
  }
}

if (import.meta.main) {
  const figures = await runTranslatorBench();
  for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(28)} ${value.toFixed(3)}`);
  const pass = figures['anthropicVsPassthrough']! <= 1.5 && figures['geminiVsPassthrough']! <= 1.5;
  console.log(
    pass ? 'target met: translators ≤ 1.5× passthrough CPU per chunk' : 'TARGET MISSED: translators > 1.5× passthrough CPU per chunk',
  );
}
