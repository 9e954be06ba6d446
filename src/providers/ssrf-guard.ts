import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';
import { GatewayError } from '../server/errors.ts';

export interface UpstreamPolicy {
  readonly allowed_hosts: readonly string[];
  readonly allow_private_networks: boolean;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** The connect error code when a listed host resolves to an address that is not allowed. */
export const PRIVATE_ADDRESS_REFUSED = 'ELIGHTPORT_PRIVATE_ADDRESS';

/**
 * Decides which caller-supplied upstream URLs may be used: the host must be listed,
 * and every address it resolves to must be public unless that address is listed too
 * (by IP or CIDR) or private networks are allowed. The address check runs at connect
 * time, so a name that re-resolves to a private address is still refused.
 */
export class UpstreamGuard {
  readonly #hosts: ReadonlySet<string>;
  readonly #wildcards: readonly string[];
  readonly #ranges: readonly Range[];
  readonly #allowPrivate: boolean;
  readonly dispatcher: Agent;

  constructor(policy: UpstreamPolicy) {
    const entries = policy.allowed_hosts.map((entry) => entry.toLowerCase());
    this.#hosts = new Set(entries.filter((entry) => !entry.startsWith('*.') && !entry.includes('/')));
    this.#wildcards = entries.filter((entry) => entry.startsWith('*.')).map((entry) => entry.slice(1));
    this.#ranges = entries.flatMap((entry) => parseRange(entry));
    this.#allowPrivate = policy.allow_private_networks;
    this.dispatcher = new Agent({ connect: { lookup: this.#lookup } });
  }

  /** The parsed URL if it may be used; otherwise a 403 naming why. */
  check(rawUrl: string): URL {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw new GatewayError('invalid_request', 'x-lightport-base-url is not a valid URL.', { param: 'x-lightport-base-url' });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new GatewayError('upstream_not_allowed', 'x-lightport-base-url must be http or https.', { param: 'x-lightport-base-url' });
    }
    const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (!this.#hostListed(hostname, url.host.toLowerCase())) {
      throw new GatewayError('upstream_not_allowed', `Upstream host "${url.host}" is not in passthrough.allowed_hosts.`, {
        param: 'x-lightport-base-url',
      });
    }
    // An address literal listed with its port was named exactly by the operator; no DNS is involved.
    if (isIP(hostname) !== 0 && !this.#hosts.has(url.host.toLowerCase()) && !this.#addressAllowed(hostname)) {
      throw new GatewayError(
        'upstream_not_allowed',
        `Upstream address ${hostname} is private; list it in passthrough.allowed_hosts to allow it.`,
        { param: 'x-lightport-base-url' },
      );
    }
    return url;
  }

  #hostListed(hostname: string, hostWithPort: string): boolean {
    if (this.#hosts.has(hostname) || this.#hosts.has(hostWithPort)) return true;
    if (this.#wildcards.some((suffix) => hostname.endsWith(suffix))) return true;
    return isIP(hostname) !== 0 && this.#inListedRange(hostname);
  }

  #inListedRange(address: string): boolean {
    const parsed = ipaddr.process(address);
    return this.#ranges.some(([network, bits]) => parsed.kind() === network.kind() && parsed.match(network, bits));
  }

  #addressAllowed(address: string): boolean {
    if (this.#allowPrivate) return true;
    return ipaddr.process(address).range() === 'unicast' || this.#inListedRange(address);
  }

  readonly #lookup = (
    hostname: string,
    options: LookupOneOptions | LookupAllOptions,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const refused = addresses.find((entry) => !this.#addressAllowed(entry.address));
      if (refused) {
        const denial: NodeJS.ErrnoException = new Error(`${hostname} resolves to a private address`);
        denial.code = PRIVATE_ADDRESS_REFUSED;
        return callback(denial, []);
      }
      if ((options as LookupAllOptions).all) return callback(null, addresses);
      const first = addresses[0];
      return first ? callback(null, first.address, first.family) : callback(new Error(`${hostname} has no address`), []);
    });
  };
}

function parseRange(entry: string): Range[] {
  try {
    if (entry.includes('/')) return [ipaddr.parseCIDR(entry)];
    if (ipaddr.isValid(entry)) {
      const address = ipaddr.process(entry);
      return [[address, address.kind() === 'ipv4' ? 32 : 128]];
    }
  } catch {
    // not an address: a host name entry
  }
  return [];
}
