import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsConfig } from '../config/observability-schema.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';

export interface MetricsListener {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** Serves metrics on a port of their own (metrics.port), so scrapes never share the API's port. */
export async function startMetricsListener(metrics: GatewayMetrics, config: MetricsConfig, host: string): Promise<MetricsListener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== config.path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`Metrics are at GET ${config.path}\n`);
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port ?? 0, host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
