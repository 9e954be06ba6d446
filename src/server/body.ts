import type { IncomingMessage } from 'node:http';
import { GatewayError } from './errors.ts';
import { requestHeader } from './request-headers.ts';
import { Buffer } from 'node:buffer';

/**
 * Reads and parses a JSON body once, refusing bodies over the limit before buffering them; the
 * text goes on `into.bodyText` when given. The content type is not checked: `curl -d` sends
 * JSON labelled as a form, and the parse says what is wrong.
 */
export function readJsonBody(req: IncomingMessage, limit: number, into?: { bodyText?: string }): Promise<unknown> {
  const declared = Number(requestHeader(req, 'content-length'));
  if (declared > limit) return Promise.reject(tooLarge(limit));

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) return;
      const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
      if (into !== undefined) into.bodyText = text;
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new GatewayError('invalid_json', `The request body is not valid JSON: ${(error as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('body_too_large', `The request body is larger than the limit of ${limit} bytes (server.body_limit).`);
}
