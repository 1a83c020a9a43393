/**
 * Target policy of the relay: which destination addresses a CONNECT-UDP flow or a CONNECT-IP
 * packet may reach. Sans-IO; the relay calls `check()` on every *resolved* address (so a DNS
 * name cannot be pointed at an internal service — DNS rebinding), and counts drops by `reason`.
 *
 * Default: only globally routable unicast is allowed. Loopback, private, link-local, CGNAT,
 * ULA, multicast, broadcast, documentation, benchmarking, reserved and cloud metadata addresses
 * are refused unless an allow-prefix covers them (RFC 9298 §7 / RFC 9484 §12: a proxy must not
 * become a way into networks its clients should not reach). IPv4-mapped (::ffff:0:0/96) and
 * NAT64 (64:ff9b::/96) addresses are unwrapped and judged as the IPv4 address they carry.
 */
import {
  ipPrefix,
  prefixContains,
  type IpPrefix,
  type IpVersion,
} from './ip-prefix.js';
import { ProxyRequestError } from './errors.js';
import { PROXY_ERROR_HTTP_STATUS } from './proxy-status.js';

/** Address classes (each row of the tables below). */
export type AddressClass =
  | 'public' | 'unspecified' | 'this_network' | 'loopback' | 'private' | 'cgnat' | 'link_local'
  | 'metadata' | 'documentation' | 'benchmarking' | 'multicast' | 'broadcast' | 'reserved' | 'ula';

/** Why `check()` decided as it did — a stable label for drop counters. */
export type PolicyReason = AddressClass | 'allow_listed' | 'relay_pool' | 'denied_by_config';

export interface PolicyDecision {
  readonly isAllowed: boolean;
  readonly reason: PolicyReason;
}

type Row = readonly [IpPrefix, AddressClass];
const row = (cidr: string, cls: AddressClass): Row => [ipPrefix(cidr), cls];

/** Most specific first: the first containing row wins. */
const V4_TABLE: readonly Row[] = [
  row('0.0.0.0/32', 'unspecified'),
  row('255.255.255.255/32', 'broadcast'),
  row('169.254.169.254/32', 'metadata'), // AWS/GCP/Azure instance metadata
  row('0.0.0.0/8', 'this_network'), // RFC 791 / RFC 6890
  row('10.0.0.0/8', 'private'), // RFC 1918
  row('100.64.0.0/10', 'cgnat'), // RFC 6598
  row('127.0.0.0/8', 'loopback'), // RFC 1122
  row('169.254.0.0/16', 'link_local'), // RFC 3927
  row('172.16.0.0/12', 'private'), // RFC 1918
  row('192.0.0.0/24', 'reserved'), // RFC 6890 IETF protocol assignments
  row('192.0.2.0/24', 'documentation'), // RFC 5737 TEST-NET-1
  row('192.88.99.0/24', 'reserved'), // RFC 7526 deprecated 6to4 relay anycast
  row('192.168.0.0/16', 'private'), // RFC 1918
  row('198.18.0.0/15', 'benchmarking'), // RFC 2544
  row('198.51.100.0/24', 'documentation'), // RFC 5737 TEST-NET-2
  row('203.0.113.0/24', 'documentation'), // RFC 5737 TEST-NET-3
  row('224.0.0.0/4', 'multicast'), // RFC 5771
  row('240.0.0.0/4', 'reserved'), // RFC 1112 class E
];

const V6_TABLE: readonly Row[] = [
  row('::/128', 'unspecified'), // RFC 4291
  row('::1/128', 'loopback'), // RFC 4291
  row('fd00:ec2::254/128', 'metadata'), // AWS IMDS over IPv6
  row('::/96', 'reserved'), // deprecated IPv4-compatible (RFC 4291 §2.5.5.1)
  row('100::/64', 'reserved'), // RFC 6666 discard-only
  row('2001:2::/48', 'benchmarking'), // RFC 5180
  row('2001:db8::/32', 'documentation'), // RFC 3849
  row('2002::/16', 'reserved'), // 6to4, deprecated (RFC 7526)
  row('3fff::/20', 'documentation'), // RFC 9637
  row('fc00::/7', 'ula'), // RFC 4193
  row('fe80::/10', 'link_local'), // RFC 4291
  row('fec0::/10', 'private'), // deprecated site-local (RFC 3879)
  row('ff00::/8', 'multicast'), // RFC 4291
];

const MAPPED = ipPrefix('::ffff:0:0/96'); // RFC 4291 §2.5.5.2
const NAT64 = ipPrefix('64:ff9b::/96'); // RFC 6052 well-known prefix

/**
 * Unwraps IPv4-mapped and NAT64 well-known-prefix IPv6 addresses to the IPv4 address they
 * carry; returns the input otherwise. The returned bytes may be a view into `bytes`.
 */
export function unwrapIpv4(version: IpVersion, bytes: Uint8Array): { version: IpVersion; bytes: Uint8Array } {
  if (version === 6 && (prefixContains(MAPPED, 6, bytes) || prefixContains(NAT64, 6, bytes))) {
    return { version: 4, bytes: bytes.subarray(12, 16) };
  }
  return { version, bytes };
}

/** The class of an address (after unwrapping mapped/NAT64 forms); 'public' if no row matches. */
export function classifyAddress(version: IpVersion, bytes: Uint8Array): AddressClass {
  const a = unwrapIpv4(version, bytes);
  for (const [p, cls] of a.version === 4 ? V4_TABLE : V6_TABLE) {
    if (prefixContains(p, a.version, a.bytes)) return cls;
  }
  return 'public';
}

export interface TargetPolicyOptions {
  /** Prefixes to allow even though their class is refused (e.g. a lab network). */
  allow?: readonly (string | IpPrefix)[];
  /** Prefixes always refused, even if public or allow-listed. */
  deny?: readonly (string | IpPrefix)[];
  /** TCP destination ports always refused (CONNECT-IP), e.g. 25: a public relay must not relay spam. */
  denyTcpPorts?: readonly number[];
}

const toPrefix = (p: string | IpPrefix): IpPrefix => (typeof p === 'string' ? ipPrefix(p) : p);

/**
 * The relay's target policy. Order of decision: deny list → relay pool exception → class
 * (public allowed) → allow list. Cloud metadata addresses are only allowed by an allow entry
 * naming exactly that address (/32 or /128), so a broad `169.254.0.0/16` does not expose them.
 * Mutating methods are for setup; `check()` is pure and cheap (linear in the list sizes).
 */
export class TargetPolicy {
  private readonly allowList: IpPrefix[] = [];
  private readonly denyList: IpPrefix[] = [];
  private readonly relayPools: IpPrefix[] = [];
  private readonly tcpPortsDenied: ReadonlySet<number>;

  constructor(opts: TargetPolicyOptions = {}) {
    for (const p of opts.allow ?? []) this.allowTarget(p);
    for (const p of opts.deny ?? []) this.denyTarget(p);
    this.tcpPortsDenied = new Set(opts.denyTcpPorts ?? []);
  }

  /**
   * Whether a TCP segment to `port` is refused; -2 stands for a first fragment too short to
   * carry the port (RFC 1858's tiny-fragment trick), refused whenever any port is.
   */
  isTcpPortDenied(port: number): boolean {
    return this.tcpPortsDenied.size > 0 && (port === -2 || this.tcpPortsDenied.has(port));
  }

  /** Allows destinations inside `cidr` that their class would refuse. Throws on a bad prefix. */
  allowTarget(cidr: string | IpPrefix): void {
    this.allowList.push(toPrefix(cidr));
  }

  /** Refuses destinations inside `cidr`, whatever else says (reason 'denied_by_config'). */
  denyTarget(cidr: string | IpPrefix): void {
    this.denyList.push(toPrefix(cidr));
  }

  /**
   * The explicit exception for the relay's own client address pool (e.g. 100.64.0.0/10, which
   * is CGNAT and refused by default): CONNECT-IP traffic to the relay's tunnel addresses
   * (its own gateway, other clients when the operator wants that) is allowed with reason
   * 'relay_pool'. To forbid client-to-client traffic, do not call this, or `denyTarget` the pool.
   */
  exemptRelayPool(cidr: string | IpPrefix): void {
    this.relayPools.push(toPrefix(cidr));
  }

  /** Decides for one destination address (4 or 16 bytes; not retained). */
  check(version: IpVersion, bytes: Uint8Array): PolicyDecision {
    const a = unwrapIpv4(version, bytes);
    const inList = (list: IpPrefix[]) =>
      list.some((p) => prefixContains(p, a.version, a.bytes) || prefixContains(p, version, bytes));
    if (inList(this.denyList)) return { isAllowed: false, reason: 'denied_by_config' };
    if (inList(this.relayPools)) return { isAllowed: true, reason: 'relay_pool' };
    const cls = classifyAddress(version, bytes);
    if (cls === 'public') return { isAllowed: true, reason: 'public' };
    const isAllowListed = this.allowList.some(
      (p) =>
        (prefixContains(p, a.version, a.bytes) || prefixContains(p, version, bytes)) &&
        (cls !== 'metadata' || p.prefixLen === (p.version === 4 ? 32 : 128)),
    );
    return isAllowListed ? { isAllowed: true, reason: 'allow_listed' } : { isAllowed: false, reason: cls };
  }
}

/**
 * The refusal for a destination the policy denied: HTTP 502 with Proxy-Status
 * `destination_ip_prohibited` (RFC 9209 §2.3, its recommended status), code
 * ERR_PROXY_TARGET_PROHIBITED. Details name only the class, never the address.
 */
export function policyDenial(d: PolicyDecision): ProxyRequestError {
  return new ProxyRequestError(
    'ERR_PROXY_TARGET_PROHIBITED',
    PROXY_ERROR_HTTP_STATUS.destination_ip_prohibited ?? 502,
    `target refused by policy (${d.reason})`,
    'destination_ip_prohibited',
  );
}
