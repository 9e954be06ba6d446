import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

/** Words that mean the same share a dimension: an embedder that knows paraphrases, unlike the built-in one. */
const MEANINGS: Record<string, number> = {
  france: 0,
  french: 0,
  capital: 1,
  city: 1,
  what: 2,
  which: 2,
  is: 3,
  the: 4,
  of: 5,
  largest: 6,
  biggest: 6,
  ocean: 7,
  sea: 7,
};

function embed(text: string): number[] {
  const vector = Array<number>(9).fill(0);
  for (const word of text
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter(Boolean))
    vector[MEANINGS[word] ?? 8]! += 1;
  return vector;
}

let embeddings: Server;
let failing = false;
const embedded: { model: string; input: unknown }[] = [];
let gateway: GatewayProcess;

beforeAll(async () => {
  embeddings = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { model: string; input: unknown };
      embedded.push(body);
      if (failing || req.url !== '/v1/embeddings' || req.headers.authorization !== 'Bearer sk-embed' || typeof body.input !== 'string') {
        res.writeHead(failing ? 500 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'refused', type: 'server_error', param: null, code: null } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data: [{ object: 'embedding', index: 0, embedding: embed(body.input) }],
          model: body.model,
          usage: { prompt_tokens: 5, total_tokens: 5 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => embeddings.listen(0, '127.0.0.1', resolve));
  gateway = await startGateway({
    config: `
providers:
  echo: { type: mock }
  vectors: { type: openai-compatible, base_url: "http://127.0.0.1:${(embeddings.address() as AddressInfo).port}/v1", api_key: sk-embed }
models:
  echo: { provider: echo, model: echo-1 }
  embedder: { provider: vectors, model: embed-1 }
cache:
  enabled: true
  defaults: { mode: semantic, threshold: 0.9, embedding_model: embedder, guards: [numbers, negation] }
`,
  });
});

afterAll(async () => {
  await gateway?.stop();
  await new Promise((resolve) => embeddings?.close(resolve));
});

async function ask(text: string): Promise<{ cache: string | null; content: string; status: number }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'echo', temperature: 0, messages: [{ role: 'user', content: text }] }),
  });
  const body = (await response.json()) as { choices: { message: { content: string } }[] };
  return { cache: response.headers.get('x-lightport-cache'), content: body.choices[0]?.message.content ?? '', status: response.status };
}

describe('semantic cache with a configured embedding model', () => {
  it('embeds questions through the model and answers a paraphrase from the cache', async () => {
    const first = await ask('Which city is the capital of France?');
    expect(first.cache).toBe('miss');
    // The question is embedded and indexed once its answer is stored, after the response.
    await expect
      .poll(() => embedded[0], { timeout: 3000, interval: 50 })
      .toEqual({ model: 'embed-1', input: 'Which city is the capital of France?', encoding_format: 'float' });
    await expect
      .poll(async () => (await ask('What is the French capital city?')).cache, { timeout: 3000, interval: 100 })
      .toBe('hit-semantic');
    const paraphrase = await ask('What is the French capital city?');
    expect(paraphrase.content).toBe(first.content);
    expect((await ask('What is the largest ocean?')).cache).toBe('miss');
  });

  it('treats a failing embedding model as a miss: the caller still gets the answer', async () => {
    failing = true;
    try {
      const answer = await ask('Which sea is the biggest?');
      expect(answer.status).toBe(200);
      expect(answer.cache).toBe('miss');
      await expect.poll(() => gateway.output().stdout, { timeout: 2000, interval: 50 }).toContain('cache: could not embed a question');
      // A model that is down fails every lookup and every addition: warned about once a minute, not each time.
      const before = embedded.length;
      expect((await ask('Which ocean is the largest?')).status).toBe(200);
      await expect.poll(() => embedded.length - before, { timeout: 2000, interval: 50 }).toBeGreaterThanOrEqual(2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(gateway.output().stdout.match(/cache: could not embed a question/g)).toHaveLength(1);
    } finally {
      failing = false;
    }
  });
});
