import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpAttribute[];
}

interface ExportRequest {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** A stand-in OpenTelemetry collector: takes OTLP/HTTP JSON exports and keeps them. */
export class CollectorStub {
  readonly exports: ExportRequest[] = [];
  readonly paths: string[] = [];
  readonly headers: Record<string, string | string[] | undefined>[] = [];
  #server: Server | undefined;

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (part: string) => (body += part));
      req.on('end', () => {
        this.paths.push(req.url ?? '');
        this.headers.push(req.headers);
        if (req.headers['content-type']?.startsWith('application/json')) this.exports.push(JSON.parse(body) as ExportRequest);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  spans(): { span: OtlpSpan; service: string | undefined }[] {
    return this.exports.flatMap((request) =>
      request.resourceSpans.flatMap((resourceSpans) => {
        const service = resourceSpans.resource.attributes.find((attribute) => attribute.key === 'service.name')?.value.stringValue;
        return resourceSpans.scopeSpans.flatMap((scope) => scope.spans.map((span) => ({ span, service })));
      }),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server?.close(() => resolve()));
  }
}

/** An attribute's value as a string or number. */
export const attribute = (span: OtlpSpan, key: string): unknown => {
  const value = span.attributes.find((item) => item.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? value?.doubleValue : Number(value.intValue));
};
