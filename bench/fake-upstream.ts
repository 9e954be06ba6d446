// A deliberately cheap OpenAI stand-in for benchmarks: fixed answers, prebuilt bytes.
// Usage: node bench/fake-upstream.ts [--port N]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

/** Chunks per stream before the usage chunk: role, content pieces, finish. */
export const STREAM_CHUNKS = 20;
/** JSON chunks a client receives per stream (the usage chunk included, [DONE] not). */
export const STREAM_EVENTS = STREAM_CHUNKS + 1;

export const UPSTREAM_ANSWER = 'Hello from the bench upstream.';

const id = 'chatcmpl-BenchFakeUpstream0000000000';
const created = 1770933883;
const model = 'gpt-4o-mini-2024-07-18';
const usage = {
  prompt_tokens: 12,
  completion_tokens: STREAM_CHUNKS - 2,
  total_tokens: 12 + STREAM_CHUNKS - 2,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: 0,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
};
const meta = { id, created, model, service_tier: 'default', system_fingerprint: 'fp_bench' };

const completionBytes = Buffer.from(
  JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: UPSTREAM_ANSWER, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage,
    service_tier: meta.service_tier,
    system_fingerprint: meta.system_fingerprint,
  }),
);

function chunkEvent(delta: object, finishReason: string | null): Buffer {
  const chunk = {
    ...meta,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    usage: null,
  };
  return Buffer.from(`data: ${JSON.stringify(chunk)}\n\n`);
}

const streamEvents: Buffer[] = [
  chunkEvent({ role: 'assistant', content: '', refusal: null }, null),
  ...Array.from({ length: STREAM_CHUNKS - 2 }, (_, i) => chunkEvent({ content: ` token${i}` }, null)),
  chunkEvent({}, 'stop'),
  Buffer.from(`data: ${JSON.stringify({ ...meta, object: 'chat.completion.chunk', choices: [], usage })}\n\n`),
  Buffer.from('data: [DONE]\n\n'),
];

const wantsStream = /"stream"\s*:\s*true/;

function main(): void {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (part: string) => (body += part));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}}');
        return;
      }
      if (wantsStream.test(body)) {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        // One write per event, so a proxy sees chunks arrive separately as it would from OpenAI.
        for (let i = 0; i < streamEvents.length - 1; i++) res.write(streamEvents[i]);
        res.end(streamEvents.at(-1));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': completionBytes.length });
      res.end(completionBytes);
    });
  });
  server.listen(Number(values.port), '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stderr.write(`fake upstream listening on http://127.0.0.1:${port}\n`);
  });
  process.once('SIGTERM', () => process.exit(0));
}

if (import.meta.main) main();
