import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { OpenAIError } from './openai-errors.ts';

export function openAIHeaders(contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'openai-version': '2020-10-01',
    'openai-processing-ms': '1',
    'x-request-id': `req_${randomBytes(16).toString('hex')}`,
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...openAIHeaders('application/json'),
    ...extraHeaders,
    'content-length': String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, error: OpenAIError): void {
  sendJson(res, error.status, error.body, error.headers);
}
