// The floor a gateway is measured against: parse, re-serialize, forward, pipe back. Nothing else.
// Usage: node bench/bare-proxy.ts [--upstream http://127.0.0.1:PORT] [--port N]
// Without --upstream, it uses the origin of OPENAI_BASE_URL, so it can stand in for the gateway.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { relaunchWithServingFlags } from '../src/cli/relaunch.ts';

// The same Node settings as `lightport start` under LIGHTPORT_SEMI_SPACE_MB: ratios compare code, not heap settings.
relaunchWithServingFlags();

const { values } = parseArgs({
  options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } },
});
const upstream = values.upstream ?? process.env['OPENAI_BASE_URL'];
if (upstream === undefined) {
  process.stderr.write('bare proxy needs --upstream or OPENAI_BASE_URL\n');
  process.exit(2);
}
const authorization = `Bearer ${process.env['OPENAI_API_KEY'] ?? 'sk-bench-not-a-real-key'}`;
const pool = new Pool(new URL(upstream).origin, { pipelining: 1 });

function fail(res: ServerResponse, error: unknown): void {
  if (res.headersSent) res.destroy();
  else {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(String(error));
  }
}

// Event listeners and pool.stream() rather than async iterators and pipeline(): the reference
// should be the cheapest honest proxy, or the gateway/bare ratio flatters the gateway.
const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => {
    let body: string;
    try {
      body = JSON.stringify(JSON.parse(Buffer.concat(parts).toString('utf8')));
    } catch (error) {
      return fail(res, error);
    }
    pool
      .stream(
        { path: req.url ?? '/', method: 'POST', headers: { 'content-type': 'application/json', authorization }, body },
        ({ statusCode, headers }) => {
          const contentType = headers['content-type'];
          res.writeHead(statusCode, typeof contentType === 'string' ? { 'content-type': contentType } : {});
          return res;
        },
      )
      .catch((error: unknown) => fail(res, error));
  });
});

server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`bare proxy listening on http://127.0.0.1:${port}\n`);
});
process.once('SIGTERM', () => process.exit(0));
