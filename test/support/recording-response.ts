import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequestContext, type RequestContext } from '../../src/pipeline/context.ts';

/** Stands in for a ServerResponse in unit tests of code that writes answers: notes what is written. */
export class RecordingResponse {
  status = 0;
  headers: Record<string, string> = {};
  body = '';
  ended = false;
  destroyed = false;
  headersSent = false;

  writeHead(status: number, headers: Record<string, string> = {}): this {
    this.status = status;
    this.headers = { ...headers };
    this.headersSent = true;
    return this;
  }

  write(chunk: string): boolean {
    this.body += chunk;
    return true;
  }

  end(chunk?: string): this {
    if (chunk !== undefined) this.body += chunk;
    this.ended = true;
    return this;
  }

  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

/** A request context answering into `res`, for a request with the given Authorization header (none by default). */
export function recordingContext(res: RecordingResponse, options: { id?: string; authorization?: string } = {}): RequestContext {
  const { id = 'req_1', authorization } = options;
  const req =
    authorization === undefined
      ? { headers: {}, rawHeaders: [] }
      : { headers: { authorization }, rawHeaders: ['authorization', authorization] };
  return createRequestContext({
    id,
    req: req as unknown as IncomingMessage,
    res: res as unknown as ServerResponse,
    startedAt: 0,
    deadlineAt: Number.POSITIVE_INFINITY,
    bodyCapture: 'off',
  });
}
