import type { ServerResponse } from 'node:http';
import type { OpenAIErrorBody } from './errors.ts';
import { GatewayError } from './errors.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, error: GatewayError, headers: Record<string, string>): void {
  sendErrorBody(res, error.status, error.toBody(), headers);
}

export function sendErrorBody(res: ServerResponse, status: number, body: OpenAIErrorBody, headers: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, body, headers);
}
