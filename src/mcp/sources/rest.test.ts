import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { McpSourceConfig } from '../../config/mcp-schema.ts';
import { restSource } from './rest.ts';

const MIB = 1024 * 1024;
let server: Server;
let base: string;
const agent = new Agent();
/** Bytes each chunked answer got written before it ended or the client went away. */
const written: number[] = [];

/** Writes MiB chunks with no Content-Length, waiting for the socket to drain, until done or the client hangs up. */
async function chunked(res: ServerResponse, mebibytes: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/plain' });
  let sent = 0;
  for (let i = 0; i < mebibytes && !res.destroyed; i++) {
    sent += MIB;
    if (!res.write('y'.repeat(MIB))) await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
  written.push(sent);
  res.end();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/big-chunked') return void chunked(res, 20);
    if (req.url === '/small-chunked') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"profile":');
      return res.end('{"tier":"gold"}}');
    }
    if (req.url?.startsWith('/garbled/')) {
      // An answer that is not the JSON it claims to be, quoting the token from the path it was asked for.
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(req.url.split('/')[2]);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await agent.close();
});

function fetchFrom(
  path: string,
  extra: Partial<Extract<McpSourceConfig, { type: 'rest' }>> = {},
  variables: ReadonlyMap<string, string> = new Map(),
): Promise<unknown> {
  const config = { type: 'rest', url: `${base}${path}`, headers: {}, timeout_ms: 5000, max_tokens: 1000, ttl_ms: 0, ...extra } as const;
  const resolution = restSource('profile', config, agent).resolve(variables);
  if (resolution.kind !== 'fetch') throw new Error(`expected a fetch, got ${resolution.kind}`);
  return resolution.fetch(AbortSignal.timeout(10_000)).then((loaded) => loaded.value);
}

describe('REST sources', () => {
  it('reads a chunked answer within the limit', async () => {
    await expect(fetchFrom('/small-chunked', { json_path: '$.profile' })).resolves.toBe('{"tier":"gold"}');
  });

  it("keeps its URL's path out of the error, even when the answer quotes it", async () => {
    const failure = fetchFrom('/garbled/sk-abc123/items');
    await expect(failure).rejects.toThrow(/not valid JSON/);
    await expect(failure).rejects.not.toThrow(/sk-abc123/);
  });

  it('keeps a token out of the error when a template expression follows it in the same segment ({/user}, {?user})', async () => {
    for (const path of ['/garbled/sk-abc123{/user}', '/garbled/sk-abc123{?user}']) {
      const failure = fetchFrom(path, {}, new Map([['user', 'bob']]));
      await expect(failure).rejects.toThrow(/not valid JSON/);
      await expect(failure).rejects.not.toThrow(/sk-abc123/);
    }
  });

  it('stops reading an answer past 1 MiB even without Content-Length, and drops the connection', async () => {
    await expect(fetchFrom('/big-chunked')).rejects.toThrow(`answer larger than ${MIB} bytes`);
    await expect.poll(() => written.length).toBe(1);
    expect(written[0]).toBeLessThan(20 * MIB);
  });
});
