import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.ts';
import { createLogger } from '../observability/logger.ts';
import { createGateway, type Gateway } from '../server/gateway.ts';
import { InFlightMisses, LiveStream, type Follower } from './coalesce.ts';

// Many identical requests at once through a gateway in this process, streaming and not, whose
// clients leave at all points, against an upstream that completes, cuts or hangs: once every
// request has ended, nothing of the coalescing is left (no request in flight, no follower).

const inFlights = new Set<InFlightMisses>();
const streams = new Set<LiveStream>();
const lead = Object.getOwnPropertyDescriptor(InFlightMisses.prototype, 'lead')?.value as InFlightMisses['lead'];
const follow = Object.getOwnPropertyDescriptor(LiveStream.prototype, 'follow')?.value as LiveStream['follow'];

let upstream: Server;
let gateway: Gateway;
let url: string;

/** A fixed sequence of numbers in [0, 1), the same each run. */
function numbers(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices, ...extra })}\n\n`;

async function answer(res: ServerResponse, text: string): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
  for (let index = 0; index < 8; index++) {
    await sleep(15);
    if (text.startsWith('cut') && index === 4) return void res.destroy();
    if (text.startsWith('hang') && index === 4) await sleep(60_000);
    res.write(chunk([{ index: 0, delta: { content: `w${index} ` }, finish_reason: null }]));
  }
  res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
  res.write(chunk([], { usage: { prompt_tokens: 1, completion_tokens: 8, total_tokens: 9 } }));
  res.end('data: [DONE]\n\n');
}

beforeAll(async () => {
  InFlightMisses.prototype.lead = function (this: InFlightMisses, id: string) {
    inFlights.add(this);
    return lead.call(this, id);
  };
  LiveStream.prototype.follow = function (this: LiveStream, follower: Follower) {
    streams.add(this);
    return follow.call(this, follower);
  };
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (part: Buffer) => (body += part.toString()));
    req.on('end', () => {
      const text = (JSON.parse(body) as { messages: { content: string }[] }).messages[0]?.content ?? '';
      void answer(res, text).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const parsed = parseConfigText(
    `
server: { request_timeout_ms: 1000 }
providers:
  openai: { type: openai, base_url: http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1, api_key: sk-cleanup }
models:
  fast: { provider: openai, model: m }
  short: { provider: openai, model: m, deadline_ms: 120 }
router:
  circuit: { enabled: false }
cache:
  enabled: true
`,
    'test.yaml',
    {},
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  gateway = createGateway(parsed.config, createLogger('silent'));
  await gateway.prepare();
  url = `http://127.0.0.1:${(await gateway.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  InFlightMisses.prototype.lead = lead;
  LiveStream.prototype.follow = follow;
  await gateway?.shutdown();
  upstream?.closeAllConnections();
  upstream?.close();
});

/** One request: its status, cache status and how its body ended, or 'left' when its client left. */
async function ask(text: string, options: { stream: boolean; model: string; leaveAfterMs: number | undefined }): Promise<string> {
  const leaving = new AbortController();
  if (options.leaveAfterMs !== undefined) setTimeout(() => leaving.abort(), options.leaveAfterMs);
  try {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer tenant-a' },
      body: JSON.stringify({ model: options.model, temperature: 0, stream: options.stream, messages: [{ role: 'user', content: text }] }),
      signal: leaving.signal,
    });
    const body = await response.text();
    const ending = !options.stream ? 'json' : body.endsWith('data: [DONE]\n\n') ? 'done' : body.includes('"error"') ? 'error' : 'unended';
    return `${response.status} ${response.headers.get('x-lightport-cache')} ${ending}`;
  } catch {
    return 'left';
  }
}

describe('coalesced misses, once every request has ended', () => {
  it('leave no request in flight and no follower behind, whatever ended them', async () => {
    const next = numbers(7);
    const requests: Promise<string>[] = [];
    for (let round = 0; round < 12; round++) {
      for (const kind of ['complete', 'cut', 'hang']) {
        for (let index = 0; index < 8; index++) {
          const roll = next();
          const model = kind === 'hang' && roll < 0.3 ? 'short' : 'fast';
          const leaveAfterMs = roll < 0.5 ? Math.floor(next() * 200) : undefined;
          const delay = Math.floor(next() * 150);
          requests.push(sleep(delay).then(() => ask(`${kind} ${round}`, { stream: roll < 0.7, model, leaveAfterMs })));
        }
      }
    }
    const outcomes = await Promise.all(requests);
    // Every stream ended with [DONE] or an error event, never silently.
    expect(outcomes.filter((outcome) => outcome.endsWith('unended'))).toEqual([]);
    expect(outcomes.some((outcome) => outcome.startsWith('200 hit-coalesced'))).toBe(true);
    // Upstream calls carried on for followers end too (by the deadline, at the latest).
    await sleep(300);
    expect(inFlights.size).toBeGreaterThan(0);
    for (const inFlight of inFlights) expect(inFlight.size).toBe(0);
    expect(streams.size).toBeGreaterThan(0);
    for (const stream of streams) expect(stream.followed).toBe(false);
  }, 20_000);
});
