import type { ServerResponse } from 'node:http';
import type { WireFormat } from '../pipeline/wire-format.ts';
import type { OpenAIErrorBody } from './errors.ts';
import { Buffer } from 'node:buffer';
import { sendableHeaders } from './header-value.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Where an error goes: the response, its headers, and the caller's API when it is not OpenAI's. */
export interface ErrorDestination {
  readonly res: ServerResponse;
  readonly headers: Record<string, string>;
  readonly format?: WireFormat | undefined;
}

/** An error (the gateway's own, or an upstream's mapped to OpenAI's shape) in the caller's API's shape. */
export function sendErrorAnswer(to: ErrorDestination, error: { readonly status: number; readonly body: OpenAIErrorBody }): void {
  const body = to.format === undefined ? error.body : to.format.errorBody(error.status, error.body.error);
  sendErrorBody(to.res, error.status, body, to.headers);
}

function sendErrorBody(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  try {
    sendJson(res, status, body, headers);
  } catch {
    // node:http refused a header (it validates them as it writes): the answer goes without it.
    sendJson(res, status, body, sendableHeaders(headers));
  }
}
