import type { IncomingMessage } from 'node:http';
import { GatewayError } from './errors.ts';
import { requestHeader } from './request-headers.ts';
import { Buffer } from 'node:buffer';
import type { AbortReason } from '../pipeline/context.ts';
import type { RequestAbort } from '../pipeline/request-abort.ts';

/** The request whose body is read, and the abort its deadline (server.request_timeout_ms) fires. */
export interface BodySource {
  readonly req: IncomingMessage;
  readonly abort: RequestAbort;
  bodyText?: string;
}

/**
 * Reads and parses a JSON body once, refusing bodies over the limit before buffering them and
 * bodies still arriving at the request's deadline; the text goes on `from.bodyText` when asked.
 * The content type is not checked: `curl -d` sends JSON labelled as a form, and the parse says
 * what is wrong.
 */
export function readJsonBody(from: BodySource, limit: number, keepText = false): Promise<unknown> {
  const { req, abort } = from;
  const declared = Number(requestHeader(req, 'content-length'));
  if (declared > limit) return Promise.reject(tooLarge(limit));

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stopReading = (error: GatewayError): void => {
      req.removeAllListeners('data');
      req.resume();
      reject(error);
    };
    // A client that sends its body slowly, or stops, would otherwise hold the request forever.
    const onDeadline = (): void => {
      const reason = abort.signal.reason as AbortReason;
      if (reason === 'deadline') stopReading(timedOut());
      else if (reason === 'shutdown')
        stopReading(new GatewayError('shutting_down', 'The gateway shut down before the request body arrived.'));
    };
    abort.add(onDeadline);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        abort.remove(onDeadline);
        stopReading(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      abort.remove(onDeadline);
      if (size > limit) return;
      const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
      if (keepText) from.bodyText = text;
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new GatewayError('invalid_json', `The request body is not valid JSON: ${(error as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}

function timedOut(): GatewayError {
  return new GatewayError('request_timeout', 'The request body did not arrive in time (server.request_timeout_ms).');
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('body_too_large', `The request body is larger than the limit of ${limit} bytes (server.body_limit).`);
}
