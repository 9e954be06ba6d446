// The floor a gateway is measured against: parse, re-serialize, forward, pipe back. Nothing else.
// Usage: node bench/bare-proxy.ts [--upstream http://127.0.0.1:PORT] [--port N]
// Without --upstream, it uses the origin of OPENAI_BASE_URL, so it can stand in for the gateway.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

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

const server = createServer(async (req, res) => {
  try {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const body = JSON.stringify(JSON.parse(Buffer.concat(parts).toString('utf8')));
    const answer = await pool.request({
      path: req.url ?? '/',
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body,
    });
    const contentType = answer.headers['content-type'];
    res.writeHead(answer.statusCode, typeof contentType === 'string' ? { 'content-type': contentType } : {});
    await pipeline(answer.body, res);
  } catch (error) {
    if (res.headersSent) res.destroy();
    else {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    }
  }
});

server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`bare proxy listening on http://127.0.0.1:${port}\n`);
});
process.once('SIGTERM', () => process.exit(0));
