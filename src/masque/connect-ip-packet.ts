/**
 * CONNECT-IP packet rules shared by the client and proxy sessions (RFC 9484 §4.6, §4.7.3, §7.2,
 * §10.1) — sans-IO, allocation-free on the accept path (ICMP errors allocate; they are rare).
 *
 * - Scope (§4.6): a request scoped to a target prefix/addresses and/or an IP protocol admits
 *   only packets whose far-end address is inside the target and whose upper-layer protocol
 *   (after IPv6 extension headers, §4.8) is `ipproto`; ICMP/ICMPv6 is always allowed.
 * - Source validation (§11, BCP 38): a packet from the client must come from an assigned prefix.
 * - Routes (§4.7.3): a destination the peer did not advertise is not sent.
 * - Errors (§7.2.1, §10.1): too big → ICMPv6 Packet Too Big / ICMPv4 Fragmentation Needed with
 *   the tunnel MTU; hop limit exhausted → Time Exceeded; out of scope → Destination
 *   Unreachable "administratively prohibited". The ICMP source is the original destination, so
 *   the error looks as if it came from beyond the tunnel: a local address would be a martian on
 *   the receiving TUN (rp_filter), and RFC 9484 §7.2.1 notes ICMP may come from any address.
 */
import {
  IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP, IPV6_MIN_MTU, ipDst, ipProtocol, ipSrc, ipUpperOffset, ipVersion,
  ipv4FragmentOffset, isIpv4DontFragment,
} from '../wire/ip.js';
import {
  ICMPV4_CODE_ADMIN_PROHIBITED, ICMPV4_CODE_NET_UNREACHABLE, ICMPV4_TIME_EXCEEDED, ICMPV6_CODE_ADMIN_PROHIBITED,
  ICMPV6_CODE_NO_ROUTE, ICMPV6_TIME_EXCEEDED,
  buildIcmpv4DestinationUnreachable, buildIcmpv4Error, buildIcmpv4FragmentationNeeded, buildIcmpv6DestinationUnreachable,
  buildIcmpv6Error, buildIcmpv6PacketTooBig,
} from '../wire/icmp.js';
import { compareIpBytes, prefixContains, type IpPrefix, type IpVersion } from './ip-prefix.js';
import type { IpAddressRange } from './connect-ip-capsules.js';

/** RFC 9484 §7.2: an IPv6-capable tunnel must carry 1280-byte packets. */
export const CONNECT_IP_MIN_MTU = IPV6_MIN_MTU;
/** Headroom `sendPacketWithHeadroom` needs: Quarter Stream ID (≤ 8) + Context ID 0 (1), rounded up. */
export const CONNECT_IP_HEADROOM = 16;

/** What a request is scoped to (RFC 9484 §4.6). `prefixes` null = any host. */
export interface IpScope {
  readonly prefixes: readonly IpPrefix[] | null;
  /** null = any protocol. */
  readonly ipProto: number | null;
}

export const ANY_SCOPE: IpScope = { prefixes: null, ipProto: null };

/** True when `addr` (4 or 16 bytes) is inside one of `prefixes`. */
export function isInPrefixes(prefixes: readonly IpPrefix[], version: IpVersion, addr: Uint8Array): boolean {
  for (const p of prefixes) if (prefixContains(p, version, addr)) return true;
  return false;
}

/**
 * RFC 9484 §4.6: is a packet inside the scope? `isFromClient` picks the far-end address
 * (destination for client → network, source for network → client). The packet must be
 * well-formed (checked by the caller).
 */
export function isInScope(pkt: Uint8Array, scope: IpScope, isFromClient: boolean): boolean {
  const v = ipVersion(pkt) as IpVersion;
  if (scope.prefixes !== null && !isInPrefixes(scope.prefixes, v, isFromClient ? ipDst(pkt) : ipSrc(pkt))) return false;
  if (scope.ipProto === null) return true;
  const proto = ipProtocol(pkt);
  // "ICMP traffic is always allowed, regardless of the value of this field."
  return proto === scope.ipProto || proto === (v === 4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6);
}

/** RFC 9484 §4.7.3: may a packet to `dst` with upper-layer `proto` use one of `routes`? ICMP always may. */
export function isRouted(routes: readonly IpAddressRange[], pkt: Uint8Array): boolean {
  const v = ipVersion(pkt);
  const dst = ipDst(pkt);
  const proto = ipProtocol(pkt);
  const isIcmp = proto === (v === 4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6);
  for (const r of routes) {
    if (r.version !== v) continue;
    if (r.ipProtocol !== 0 && r.ipProtocol !== proto && !isIcmp) continue;
    if (compareIpBytes(r.start, dst) <= 0 && compareIpBytes(dst, r.end) <= 0) return true;
  }
  return false;
}

/**
 * RFC 9484 §4.7.3: a range with IP Protocol 0 must not overlap a range of the same version with
 * another protocol (the codec's ordering rules cannot catch it). Validation is OPTIONAL; if
 * detected the stream MUST be aborted. O(n log n): ranges of one protocol are sorted already.
 */
export function hasProtocolOverlap(ranges: readonly IpAddressRange[]): boolean {
  for (const v of [4, 6] as const) {
    const all = ranges.filter((r) => r.version === v && r.ipProtocol === 0);
    if (all.length === 0) continue;
    for (const r of ranges) {
      if (r.version !== v || r.ipProtocol === 0) continue;
      // First proto-0 range whose end ≥ r.start; overlap if its start ≤ r.end.
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareIpBytes(all[mid].end, r.start) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (lo < all.length && compareIpBytes(all[lo].start, r.end) <= 0) return true;
    }
  }
  return false;
}

/** The range covering a prefix (for ROUTE_ADVERTISEMENT). */
export function prefixToRange(p: IpPrefix, ipProtocol = 0): IpAddressRange {
  const start = Uint8Array.from(p.bytes);
  const end = Uint8Array.from(p.bytes);
  for (let bit = p.prefixLen; bit < end.length * 8; bit++) end[bit >> 3] |= 0x80 >> (bit & 7);
  for (let bit = p.prefixLen; bit < start.length * 8; bit++) start[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { version: p.version, start, end, ipProtocol };
}

/** Whole-family ranges (0.0.0.0–255.255.255.255, ::–ffff:…) for a full tunnel. */
export function fullTunnelRoutes(ipProtocol = 0): IpAddressRange[] {
  return [
    { version: 4, start: new Uint8Array(4), end: new Uint8Array(4).fill(255), ipProtocol },
    { version: 6, start: new Uint8Array(16), end: new Uint8Array(16).fill(255), ipProtocol },
  ];
}

/**
 * ICMP error telling the sender of `orig` that it does not fit a tunnel of `mtu` bytes
 * (RFC 9484 §10.1, RFC 4443 §3.2, RFC 1191 §4). IPv4 without DF gets none (a router would
 * fragment; we do not): null, drop and count. Source: the original destination (file header).
 */
export function buildTooBig(orig: Uint8Array, mtu: number): Uint8Array | null {
  const v = ipVersion(orig);
  const src = Uint8Array.from(ipDst(orig));
  if (v === 6) return buildIcmpv6PacketTooBig(orig, src, Math.max(mtu, IPV6_MIN_MTU));
  if (v === 4 && isIpv4DontFragment(orig)) return buildIcmpv4FragmentationNeeded(orig, src, mtu);
  return null;
}

/** ICMP Time Exceeded in transit (hop limit reached 0 at encapsulation, RFC 9484 §7.2). */
export function buildTimeExceeded(orig: Uint8Array): Uint8Array | null {
  const src = Uint8Array.from(ipDst(orig));
  return ipVersion(orig) === 6 ? buildIcmpv6Error(orig, src, ICMPV6_TIME_EXCEEDED, 0) : buildIcmpv4Error(orig, src, ICMPV4_TIME_EXCEEDED, 0);
}

/** ICMP Destination Unreachable "administratively prohibited" (RFC 9484 §7.2.1). */
export function buildProhibited(orig: Uint8Array): Uint8Array | null {
  const src = Uint8Array.from(ipDst(orig));
  return ipVersion(orig) === 6
    ? buildIcmpv6DestinationUnreachable(orig, src, ICMPV6_CODE_ADMIN_PROHIBITED)
    : buildIcmpv4DestinationUnreachable(orig, src, ICMPV4_CODE_ADMIN_PROHIBITED);
}

/**
 * ICMP Destination Unreachable "no route" (ICMPv6 code 0, RFC 4443 §3.1; ICMPv4 net
 * unreachable, RFC 792): the tunnel carries nothing of this packet's IP version. The
 * sender's stack fails the socket at once (ENETUNREACH), so Happy Eyeballs moves to the
 * other family instead of waiting for a timeout.
 */
export function buildNoRoute(orig: Uint8Array): Uint8Array | null {
  const src = Uint8Array.from(ipDst(orig));
  return ipVersion(orig) === 6
    ? buildIcmpv6DestinationUnreachable(orig, src, ICMPV6_CODE_NO_ROUTE)
    : buildIcmpv4DestinationUnreachable(orig, src, ICMPV4_CODE_NET_UNREACHABLE);
}

/**
 * The TCP destination port of `pkt`: -1 when it is not TCP or a non-first fragment (no TCP
 * header in it), -2 for a first fragment too short to hold the port (RFC 1858 §3.1).
 */
export function tcpDstPort(pkt: Uint8Array): number {
  if (ipProtocol(pkt) !== IP_PROTO_TCP) return -1; // IPv6 non-first fragments report 44
  if (ipVersion(pkt) === 4 && ipv4FragmentOffset(pkt) !== 0) return -1;
  const off = ipUpperOffset(pkt);
  return off >= 0 && off + 4 <= pkt.length ? (pkt[off + 2] << 8) | pkt[off + 3] : -2;
}

/** Reads one capsule header at `off` of a buffer we encoded ourselves. */
export function splitCapsule(b: Uint8Array, off: number): { type: number; valueOff: number; len: number } {
  const rd = (at: number): [number, number] => {
    const n = 1 << (b[at] >> 6);
    let v = b[at] & 0x3f;
    for (let i = 1; i < n; i++) v = v * 256 + b[at + i];
    return [v, n];
  };
  const [type, tn] = rd(off);
  const [len, ln] = rd(off + tn);
  return { type, valueOff: off + tn + ln, len };
}
