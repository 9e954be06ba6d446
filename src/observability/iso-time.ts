let second = -1;
let prefix = '';

/**
 * `new Date().toISOString()` for now, built from the current second's text (formatted once a
 * second) and the milliseconds: a log line per request need not format a whole date.
 */
export function isoTimeNow(): string {
  const now = Date.now();
  const at = Math.floor(now / 1000);
  if (at !== second) {
    second = at;
    prefix = new Date(at * 1000).toISOString().slice(0, 20);
  }
  const millis = now - at * 1000;
  return `${prefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
