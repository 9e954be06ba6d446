import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blankRequestHeader, requestHeader } from './request-headers.ts';

// Requests written byte for byte to a real node:http server, so the headers are parsed as they
// are in the gateway; each test gets the IncomingMessage its request made.
const server = createServer((req, res) => {
  waiting.shift()?.(req);
  res.end();
});
const waiting: ((req: IncomingMessage) => void)[] = [];

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});
afterAll(() => server.close());

async function received(headerLines: readonly string[]): Promise<IncomingMessage> {
  const arrived = new Promise<IncomingMessage>((resolve) => waiting.push(resolve));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.end(`GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${headerLines.map((line) => `${line}\r\n`).join('')}\r\n`);
  socket.resume();
  return arrived;
}

const HEADERS = [
  'X-Request-Id: first-id',
  'x-request-id: second-id',
  'AUTHORIZATION: Bearer one',
  'Authorization: Bearer two',
  'x-lightport-mcp: github',
  'X-Lightport-MCP: docs, files',
  'Content-Type: application/json',
  'TE: trailers',
  'x-empty: ',
];

describe('requestHeader', () => {
  it('gives what req.headers gives, whatever the case and however often a header is repeated', async () => {
    const req = await received(HEADERS);
    const names = ['x-request-id', 'authorization', 'x-lightport-mcp', 'content-type', 'te', 'x-empty', 'host', 'connection', 'absent'];
    const fromRaw = Object.fromEntries(names.map((name) => [name, requestHeader(req, name)]));
    const fromNode = Object.fromEntries(names.map((name) => [name, req.headers[name]]));
    expect(fromRaw).toEqual(fromNode);
    expect(fromRaw['x-lightport-mcp']).toBe('github, docs, files');
    expect(fromRaw['authorization']).toBe('Bearer one');
  });

  it('blanks a header in both views, before or after req.headers was read', async () => {
    const untouched = await received(HEADERS);
    blankRequestHeader(untouched, 'authorization');
    expect(requestHeader(untouched, 'authorization')).toBe('');
    expect(untouched.headers['authorization']).toBeUndefined();
    expect(untouched.rawHeaders.join('\n')).not.toContain('Bearer');

    const built = await received(HEADERS);
    expect(built.headers['x-lightport-mcp']).toBe('github, docs, files');
    blankRequestHeader(built, 'x-lightport-mcp');
    expect(built.headers['x-lightport-mcp']).toBeUndefined();
    expect(built.rawHeaders.join('\n')).not.toMatch(/github|docs/);
    blankRequestHeader(built, 'absent');
    expect(built.headers['absent']).toBeUndefined();
  });
});
