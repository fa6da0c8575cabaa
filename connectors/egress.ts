// Egress policy of the connectors, in one place: which URLs a connection may
// call (official hosts over HTTPS on the default port; other hosts only when
// the operator lists them), which addresses those names may resolve to (no
// private, loopback or link-local address unless listed), the address pinned
// for the connection so DNS cannot change it after the check, and redirects
// followed only within the same origin.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent } from 'undici';
import { ConnectorError, type HostPolicy } from './types.js';

/** Same-origin redirects followed per request before giving up. */
export const MAX_REDIRECTS = 3;

/** Where the operator says extra hosts go (named in every refusal). */
const ALLOW_LIST = 'OPSTRAILS_ALLOWED_PROVIDER_HOSTS';

/** One address a name resolved to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** What the egress check of one provider needs. */
export interface EgressPolicy extends HostPolicy {
  /** Human name for messages, e.g. "Datadog". */
  provider: string;
  /** The provider's official hosts: exact names, or a subdomain suffix when the entry starts with ".". */
  officialHosts: readonly string[];
  /**
   * Admit any host over https whose every address is public (an org's notification webhook has
   * no official hosts); hosts the operator listed keep the listed rules (http, listed addresses).
   */
  publicHosts?: boolean;
}

// ---------------------------------------------------------------------------
// Addresses

/** What kind of network an address belongs to; only `public` is reachable without listing. */
export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

/** An IPv4 or IPv6 address as 4 or 16 bytes; undefined when `text` is not an IP address. */
export function ipBytes(text: string): Uint8Array | undefined {
  const ip = text.replace(/^\[|\]$/g, '');
  const version = isIP(ip);
  if (version === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (version !== 6) return undefined;
  let tail: number[] = [];
  let head = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (v4) {
    tail = v4[1].split('.').map(Number);
    head = `${ip.slice(0, v4.index)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').filter((g) => g !== '') : []);
  const l = groups(left);
  const r = groups(right);
  const words = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    const n = Number.parseInt(w, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

/** True when the first `bits` bits of `addr` equal those of `net` (same family). */
function inPrefix(addr: Uint8Array, net: Uint8Array, bits: number): boolean {
  if (addr.length !== net.length) return false;
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    if ((addr[i >> 3] & mask) !== (net[i >> 3] & mask)) return false;
  }
  return true;
}

const prefix = (cidr: string): [Uint8Array, number] => {
  const [net, bits] = cidr.split('/');
  return [ipBytes(net)!, Number(bits)];
};

// IANA special-purpose registries (RFC 6890 and successors), by what they mean for egress.
const V4_RANGES: [AddressClass, [Uint8Array, number]][] = (
  [
    ['unspecified', '0.0.0.0/8'],
    ['private', '10.0.0.0/8'],
    ['private', '100.64.0.0/10'],
    ['loopback', '127.0.0.0/8'],
    ['link-local', '169.254.0.0/16'],
    ['private', '172.16.0.0/12'],
    ['reserved', '192.0.0.0/24'],
    ['reserved', '192.0.2.0/24'],
    ['reserved', '192.88.99.0/24'],
    ['private', '192.168.0.0/16'],
    ['reserved', '198.18.0.0/15'],
    ['reserved', '198.51.100.0/24'],
    ['reserved', '203.0.113.0/24'],
    ['multicast', '224.0.0.0/4'],
    ['reserved', '240.0.0.0/4'],
  ] as const
).map(([cls, cidr]) => [cls, prefix(cidr)]);

const V6_RANGES: [AddressClass, [Uint8Array, number]][] = (
  [
    ['unspecified', '::/128'],
    ['loopback', '::1/128'],
    ['private', '64:ff9b:1::/48'],
    ['reserved', '100::/64'],
    ['reserved', '2001::/23'],
    ['reserved', '2001:db8::/32'],
    ['private', 'fc00::/7'],
    ['link-local', 'fe80::/10'],
    ['private', 'fec0::/10'],
    ['multicast', 'ff00::/8'],
  ] as const
).map(([cls, cidr]) => [cls, prefix(cidr)]);

/** IPv6 forms that carry an IPv4 address, which then decides: mapped, NAT64, 6to4, IPv4-compatible. */
function embeddedV4(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length !== 16) return undefined;
  const zero = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  if (inPrefix(bytes, ipBytes('64:ff9b::')!, 96)) return bytes.slice(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  if (zero(0, 12) && !zero(12, 16) && !(zero(12, 15) && bytes[15] === 1)) return bytes.slice(12);
  return undefined;
}

/** The class of an IP address (text or bytes). */
export function addressClass(address: string | Uint8Array): AddressClass {
  let bytes = typeof address === 'string' ? ipBytes(address) : address;
  if (!bytes) throw new TypeError(`not an IP address: ${String(address)}`);
  bytes = embeddedV4(bytes) ?? bytes;
  const ranges = bytes.length === 4 ? V4_RANGES : V6_RANGES;
  return ranges.find(([, [net, bits]]) => inPrefix(bytes, net, bits))?.[0] ?? 'public';
}

// ---------------------------------------------------------------------------
// The operator's allow-list: host names, IP addresses and CIDR ranges.

interface AllowList {
  names: Set<string>;
  ranges: [Uint8Array, number][];
}

function parseAllowList(entries: readonly string[]): AllowList {
  const names = new Set<string>();
  const ranges: [Uint8Array, number][] = [];
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    const [addr, bits] = entry.split('/');
    const bytes = ipBytes(addr);
    if (bytes) {
      const max = bytes.length * 8;
      const n = bits === undefined ? max : Number(bits);
      if (Number.isInteger(n) && n >= 0 && n <= max) ranges.push([bytes, n]);
    } else if (entry) {
      names.add(entry.replace(/\.$/, ''));
    }
  }
  return { names, ranges };
}

/** True when the address is listed (exactly, or inside a listed range); IPv4-mapped IPv6 counts as IPv4. */
function addressListed(list: AllowList, address: string): boolean {
  const bytes = ipBytes(address);
  if (!bytes) return false;
  const forms = [bytes, embeddedV4(bytes)].filter((b): b is Uint8Array => b !== undefined);
  return list.ranges.some(([net, bits]) => forms.some((b) => inPrefix(b, net, bits)));
}

/** A URL's host name without IPv6 brackets or a trailing dot, lower-cased. */
function hostOf(url: URL): string {
  return url.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

function isOfficial(host: string, officialHosts: readonly string[]): boolean {
  return officialHosts.some((h) => (h.startsWith('.') ? host.endsWith(h) : host === h));
}

/**
 * How a host is admitted: as an official host of the provider, as listed by the operator, as any
 * public host (publicHosts), or by the tests-only any-host policy.
 */
type Admission = 'official' | 'listed' | 'public' | 'any';

// ---------------------------------------------------------------------------
// URLs (checked at config time by resolveBaseUrl, and again for every request)

/**
 * Check a URL against the policy and say how its host is admitted. Throws
 * ConnectorError invalid_config naming `field` (e.g. "base_url") when refused:
 * official hosts must use https on the default port; any other host must be
 * listed (a name, or an IP address inside a listed address or range).
 */
export function admitUrl(
  url: URL,
  policy: HostPolicy & Pick<EgressPolicy, 'officialHosts' | 'publicHosts'>,
  field: string,
): Admission {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConnectorError('invalid_config', `${field} must use http or https`);
  }
  if (url.username || url.password) {
    throw new ConnectorError('invalid_config', `${field} must not carry credentials; use the secrets fields`);
  }
  const host = hostOf(url);
  if (isOfficial(host, policy.officialHosts)) {
    if (url.protocol !== 'https:' || url.port !== '') {
      throw new ConnectorError(
        'invalid_config',
        `${field}: the official host ${host} is only called over https on the default port (443), not ${url.protocol}//${url.host}`,
      );
    }
    return 'official';
  }
  if (policy.allowAnyHost) return 'any';
  const list = parseAllowList(policy.allowedHosts);
  const listed = isIP(host) ? addressListed(list, host) : list.names.has(host);
  if (!listed && policy.publicHosts) {
    if (url.protocol !== 'https:') throw new ConnectorError('invalid_config', `${field} must use https`);
    if (isIP(host) && addressClass(host) !== 'public') {
      throw new ConnectorError(
        'invalid_config',
        `${field}: ${host} is a ${addressClass(host)} address; the operator can allow it in ${ALLOW_LIST}`,
      );
    }
    return 'public';
  }
  if (!listed) {
    throw new ConnectorError(
      'invalid_config',
      `${field}: host ${host} is not an official host of this provider; the operator can allow it in ${ALLOW_LIST}`,
    );
  }
  return 'listed';
}

// ---------------------------------------------------------------------------
// Name resolution, checked and pinned

/** The system resolver: every address of a name, in the order the system prefers. */
function systemResolve(hostname: string): Promise<ResolvedAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses: LookupAddress[]) => {
      if (err) reject(err);
      else resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })));
    });
  });
}

/**
 * Resolve a host name and check every address against how the host was admitted:
 * an official host may resolve to public or private addresses (VPC endpoints such
 * as Datadog's PrivateLink), never to loopback, link-local, multicast or reserved
 * ones; a listed name only to public addresses, or to addresses the operator
 * listed too. Any refused address refuses the name.
 */
export async function resolveChecked(hostname: string, policy: EgressPolicy): Promise<readonly ResolvedAddress[]> {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const admission: Admission = isOfficial(host, policy.officialHosts)
    ? 'official'
    : policy.allowAnyHost
      ? 'any'
      : 'listed';
  const list = parseAllowList(policy.allowedHosts);
  // Under publicHosts an unlisted name is admitted; its addresses must then be public (below).
  if (admission === 'listed' && !list.names.has(host) && !isIP(host) && !policy.publicHosts) {
    throw new ConnectorError('invalid_config', `${policy.provider}: host ${host} is not allowed (${ALLOW_LIST})`);
  }
  const addresses = isIP(host)
    ? [{ address: host, family: isIP(host) as 4 | 6 }]
    : await (policy.resolve ?? systemResolve)(host);
  if (addresses.length === 0) {
    throw new ConnectorError('unavailable', `${policy.provider}: ${host} resolves to no address`);
  }
  if (admission === 'any') return addresses;
  for (const { address } of addresses) {
    const cls = addressClass(address);
    const allowed =
      admission === 'official'
        ? cls === 'public' || cls === 'private'
        : cls === 'public' || addressListed(list, address);
    if (!allowed) {
      throw new ConnectorError(
        'invalid_config',
        `${policy.provider}: ${host} resolves to ${address}, a ${cls} address; ` +
          (admission === 'official'
            ? 'refused for an official host'
            : `list that address (or its range) in ${ALLOW_LIST} to allow it`),
      );
    }
  }
  return addresses;
}

/** A net/tls `lookup` that resolves through the policy: the socket connects only to an address that passed. */
function checkedLookup(policy: EgressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, policy).then(
      (all) => {
        const family = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = family ? all.filter((a) => a.family === family) : all;
        if (usable.length === 0) {
          callback(Object.assign(new Error(`no IPv${family} address for ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
        } else if (options.all) {
          (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, [...usable]);
        } else {
          callback(null, usable[0].address, usable[0].family);
        }
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 4),
    );
  };
}

// ---------------------------------------------------------------------------
// The policed fetch

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The ConnectorError a refusal was thrown as, wherever it sits in a transport error's cause chain. */
function refusalIn(err: unknown): ConnectorError | undefined {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ConnectorError) return e;
  }
  return undefined;
}

/** The policed fetch and the connection pool it owns. */
export interface EgressFetch {
  fetch: typeof globalThis.fetch;
  /** Close the pinned connection pool. */
  close(): Promise<void>;
}

/**
 * Wrap a fetch with the egress policy: every request URL is admitted (scheme,
 * port, host), host names are resolved and checked inside the connection's own
 * lookup (so the address checked is the address connected to: DNS rebinding
 * cannot switch it), and redirects are handled here — followed up to
 * MAX_REDIRECTS times within the same origin (scheme, host and port), refused
 * to any other origin before anything is sent there. Refusals are
 * ConnectorError invalid_config. `transport` must honour undici's `dispatcher`
 * option (the global fetch does): that is where the checked lookup lives.
 */
export function egressFetch(transport: typeof globalThis.fetch, policy: EgressPolicy): EgressFetch {
  const dispatcher = new Agent({ connect: { lookup: checkedLookup(policy) } });
  const policed = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (typeof input !== 'string' && !(input instanceof URL)) {
      throw new TypeError('the connectors’ fetch takes a URL and init, not a Request');
    }
    let url = new URL(String(input));
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    const headers = new Headers(init.headers);
    for (let hop = 0; ; hop++) {
      // Names are resolved and checked in the connection's lookup; an IP address host is admitted only when listed.
      admitUrl(url, policy, `${policy.provider} request URL`);
      let res: Response;
      try {
        res = await transport(url.href, {
          ...init,
          method,
          headers,
          body,
          redirect: 'manual',
          dispatcher,
        } as RequestInit);
      } catch (err) {
        throw refusalIn(err) ?? err;
      }
      const location = REDIRECTS.has(res.status) ? res.headers.get('location') : null;
      if (location === null) return res;
      await res.body?.cancel().catch(() => undefined);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new ConnectorError(
          'bad_response',
          `${policy.provider} answered HTTP ${res.status} with an invalid Location`,
        );
      }
      if (next.origin !== url.origin) {
        throw new ConnectorError(
          'invalid_config',
          `${policy.provider} answered HTTP ${res.status} redirecting from ${url.origin} to ${next.origin}; ` +
            'redirects are followed only within the same scheme, host and port (point base_url at the final location if you trust it)',
          { status: res.status },
        );
      }
      if (hop >= MAX_REDIRECTS) {
        throw new ConnectorError('bad_response', `${policy.provider} redirected more than ${MAX_REDIRECTS} times`, {
          status: res.status,
        });
      }
      // As fetch does: 303 (and 301/302 after a POST) continue as a GET without the body.
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        if (method !== 'HEAD') method = 'GET';
        body = undefined;
        headers.delete('content-type');
        headers.delete('content-length');
      }
      url = next;
    }
  };
  return { fetch: policed as typeof globalThis.fetch, close: () => dispatcher.close() };
}
