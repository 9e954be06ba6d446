import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { PROVIDER_DIRS, type Case, type Framing } from './cases.ts';

export interface ReplayUpstream {
  /** Base URL for one provider folder, e.g. http://127.0.0.1:1234/anthropic */
  baseUrl(provider: string): string;
  close(): Promise<void>;
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** One recorded event payload, framed exactly as its provider puts it on the wire. */
function frame(framing: Framing, line: string): Buffer {
  switch (framing) {
    case 'sse-data':
      return Buffer.from(`data: ${line}\n\n`);
    case 'sse-crlf':
      return Buffer.from(`data: ${line}\r\n\r\n`);
    case 'sse-event':
      return Buffer.from(`event: ${eventType(line)}\ndata: ${line}\n\n`);
    case 'aws-event-stream': {
      const event = JSON.parse(line) as Record<string, unknown>;
      const [type] = Object.keys(event);
      const headers = {
        ':event-type': { type: 'string' as const, value: type ?? '' },
        ':content-type': { type: 'string' as const, value: 'application/json' },
        ':message-type': { type: 'string' as const, value: 'event' },
      };
      return Buffer.from(codec.encode({ headers, body: fromUtf8(JSON.stringify(event[type ?? ''])) }));
    }
  }
}

/** The event's type; read from the text, as some recorded lines are not whole JSON (and are relayed as they are). */
function eventType(line: string): string {
  return /^\{"type":"([^"]+)"/.exec(line)?.[1] ?? (JSON.parse(line) as { type?: string }).type ?? 'message';
}

const CONTENT_TYPES: Record<Framing, string> = {
  'sse-data': 'text/event-stream',
  'sse-event': 'text/event-stream',
  'sse-crlf': 'text/event-stream',
  'aws-event-stream': 'application/vnd.amazon.eventstream',
};

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Serves the recordings: the provider folder is the first path segment, the case is named by the
 * request's model (in the body or the URL), and a stream is served when the request asks for one.
 */
export async function startReplayUpstream(cases: readonly Case[]): Promise<ReplayUpstream> {
  const byProvider = new Map<string, Case[]>();
  for (const item of cases) byProvider.set(item.provider, [...(byProvider.get(item.provider) ?? []), item]);

  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const url = decodeURIComponent(req.url ?? '/');
      const provider = url.split('/')[1] ?? '';
      const candidates = (byProvider.get(provider) ?? []).toSorted((a, b) => b.name.length - a.name.length);
      const model = typeof body['model'] === 'string' ? body['model'] : '';
      const found = candidates.find((item) => item.name === model) ?? candidates.find((item) => url.includes(`/${item.name}`));
      const framing = PROVIDER_DIRS[provider]?.framing;
      if (!found || !framing) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no recording for ${url}` } }));
        return;
      }
      const wantsStream = body['stream'] === true || /stream/i.test(url.split('?')[0] ?? '');
      if (wantsStream && found.chunks) {
        res.writeHead(200, { 'content-type': CONTENT_TYPES[framing] });
        for (const line of found.chunks) res.write(frame(framing, line));
        if (framing === 'sse-data') res.write('data: [DONE]\n\n');
        res.end();
        return;
      }
      const recorded = found.json;
      const status = recorded?.kind === 'error' ? recorded.status : recorded ? 200 : 404;
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify(recorded?.body ?? { error: { message: 'no body recorded' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: (provider) => `http://127.0.0.1:${port}/${provider}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
