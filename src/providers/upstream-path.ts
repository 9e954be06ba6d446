/**
 * Joins an upstream's base path to each request's path, keeping the last result: a string joined
 * per request is a two-part chain, which undici's checks of the path copy into one string again
 * on every request; the kept one is copied once. Most providers send every request to one path.
 */
export function upstreamPathJoiner(baseUrl: URL): (path: string) => string {
  const prefix = baseUrl.pathname.replace(/\/+$/, '');
  let lastPath = '';
  let lastJoined = prefix;
  return (path) => {
    if (path !== lastPath) {
      lastPath = path;
      lastJoined = prefix + path;
    }
    return lastJoined;
  };
}
