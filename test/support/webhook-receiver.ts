import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ReceivedHook {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedHook[];
  /** Bodies of the deliveries answered with 2xx, parsed. */
  delivered(): Array<Record<string, unknown>>;
  /** Waits until `count` deliveries succeeded, or the timeout passes. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A local HTTP endpoint for webhook tests. The first `failFirst` posts are answered
 * with 500 after `delayMs`, to see retries and that nobody waits for them.
 */
export async function startWebhookReceiver(options: { failFirst?: number; delayMs?: number } = {}): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  let failures = options.failFirst ?? 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (part: string) => (body += part));
    req.on('end', () => {
      const status = failures > 0 ? 500 : 204;
      if (failures > 0) failures--;
      setTimeout(() => {
        received.push({ status, headers: req.headers, body });
        res.writeHead(status).end();
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const delivered = (): Array<Record<string, unknown>> =>
    received.filter((hook) => hook.status < 300).map((hook) => JSON.parse(hook.body) as Record<string, unknown>);
  return {
    url: `http://127.0.0.1:${port}/hooks/budget`,
    received,
    delivered,
    waitFor: async (count, timeoutMs = 8000) => {
      const deadline = Date.now() + timeoutMs;
      while (delivered().length < count && Date.now() < deadline) await sleep(25);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
