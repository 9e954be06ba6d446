import { validateHeaderValue } from 'node:http';

// What node:http accepts in a header value, less the bytes above 0x7e, which it would send as Latin-1.
const OUTSIDE_VISIBLE_ASCII = /[^\t\x20-\x7e]/;

/** A caller's text (a model name, say) as a header value: percent-encoded when it holds anything else. */
export function headerValue(text: string): string {
  return OUTSIDE_VISIBLE_ASCII.test(text) ? encodeURIComponent(text) : text;
}

/** The headers node:http will send, without any whose value it would refuse. */
export function sendableHeaders(headers: Record<string, string>): Record<string, string> {
  const sendable: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderValue(name, value);
      sendable[name] = value;
    } catch {
      // Dropped: an error answer must go out whatever a header holds.
    }
  }
  return sendable;
}
