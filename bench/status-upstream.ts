// An upstream that answers every request with one fixed error status, as fast as it can.
// Usage: node bench/status-upstream.ts --status 503 [--port N]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { status: { type: 'string', default: '503' }, port: { type: 'string', default: '0' } } });
const status = Number(values.status);
const body = Buffer.from(
  JSON.stringify({
    error: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', param: null, code: null },
  }),
);

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`status upstream (${status}) listening on http://127.0.0.1:${port}\n`);
});
process.once('SIGTERM', () => process.exit(0));
