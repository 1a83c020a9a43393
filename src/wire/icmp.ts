/**
 * ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) builders: the errors a tunnel endpoint must send
 * — Fragmentation Needed / Packet Too Big for path-MTU discovery through CONNECT-IP
 * (RFC 9484 §7), Destination Unreachable — and Echo for tests.
 *
 * Error builders return a new packet, or `null` when the rules forbid an error for this
 * packet (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7, RFC 4443 §2.4(e)): never about an ICMP
 * error, a non-first fragment, or a packet from an unspecified/multicast source.
 * Error path only: they allocate.
 */
import { internetChecksum, pseudoHeaderSum } from './checksum.js';
import {
  IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_IPV6_FRAG, IPV4_HEADER_BYTES, IPV6_HEADER_BYTES, IPV6_MIN_MTU,
  ipDst, ipProtocol, ipSrc, ipTotalLength, ipUpperOffset, ipv4FragmentOffset, ipVersion,
  isIpv4Fragment, isMulticastOrBroadcast, isUnspecified, isWellFormedIp, setIpv4HeaderChecksum, swapIpAddresses,
} from './ip.js';

/** RFC 792 types and codes. */
export const ICMPV4_ECHO_REPLY = 0;
export const ICMPV4_DEST_UNREACHABLE = 3;
export const ICMPV4_ECHO_REQUEST = 8;
export const ICMPV4_TIME_EXCEEDED = 11;
export const ICMPV4_CODE_NET_UNREACHABLE = 0;
export const ICMPV4_CODE_HOST_UNREACHABLE = 1;
export const ICMPV4_CODE_PROTOCOL_UNREACHABLE = 2;
export const ICMPV4_CODE_PORT_UNREACHABLE = 3;
export const ICMPV4_CODE_FRAGMENTATION_NEEDED = 4;
/** RFC 1812 §5.2.7.1. */
export const ICMPV4_CODE_ADMIN_PROHIBITED = 13;

/** RFC 4443 §2.1 / §3 types and codes. */
export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAM_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_CODE_NO_ROUTE = 0;
export const ICMPV6_CODE_ADMIN_PROHIBITED = 1;
export const ICMPV6_CODE_BEYOND_SCOPE = 2;
export const ICMPV6_CODE_ADDRESS_UNREACHABLE = 3;
export const ICMPV6_CODE_PORT_UNREACHABLE = 4;

/** RFC 1812 §4.3.2.3: an ICMPv4 error is at most 576 bytes. */
const ICMPV4_ERROR_MAX_BYTES = 576;
const ICMP_HEADER_BYTES = 8;
const DEFAULT_TTL = 64;

/** ICMPv4 types that are errors (RFC 1122 §3.2.2: never answer these with an error). */
function isIcmpv4Error(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/**
 * Whether an ICMP error may be sent about `orig` (a packet view). `isPacketTooBig` enables
 * RFC 4443 §2.4(e.3): Packet Too Big may answer a multicast destination.
 */
export function mayAnswerWithIcmpError(orig: Uint8Array, isPacketTooBig = false): boolean {
  if (!isWellFormedIp(orig)) return false;
  const src = ipSrc(orig);
  if (isUnspecified(src) || isMulticastOrBroadcast(src)) return false;
  const v = ipVersion(orig);
  const proto = ipProtocol(orig);
  const upper = ipUpperOffset(orig);
  if (v === 4) {
    if (ipv4FragmentOffset(orig) !== 0 || isMulticastOrBroadcast(ipDst(orig))) return false;
    return !(proto === IP_PROTO_ICMP && upper < orig.length && isIcmpv4Error(orig[upper]));
  }
  if (proto === IP_PROTO_IPV6_FRAG) return false; // non-first fragment
  if (!isPacketTooBig && isMulticastOrBroadcast(ipDst(orig))) return false;
  // RFC 4443 §2.1: types < 128 are errors. A truncated ICMPv6 header counts as an error.
  return !(proto === IP_PROTO_ICMPV6 && (upper < 0 || upper >= orig.length || orig[upper] < 128));
}

/** Writes an IPv4 header at `buf[0]` (no options, DF clear) and its checksum. */
function writeIpv4Header(buf: Uint8Array, src: Uint8Array, dst: Uint8Array, proto: number, ttl: number): void {
  buf[0] = 0x45; // version 4, IHL 5 words
  buf[1] = 0; // DSCP/ECN
  buf[2] = buf.length >> 8; // total length
  buf[3] = buf.length & 0xff;
  buf.fill(0, 4, 8); // identification 0, flags 0, fragment offset 0
  buf[8] = ttl;
  buf[9] = proto;
  buf.set(src, 12);
  buf.set(dst, 16);
  setIpv4HeaderChecksum(buf, 0);
}

/** Writes an IPv6 header at `buf[0]` (traffic class 0, flow label 0). */
function writeIpv6Header(buf: Uint8Array, src: Uint8Array, dst: Uint8Array, next: number, hopLimit: number): void {
  buf.fill(0, 0, 4);
  buf[0] = 0x60; // version 6
  const payload = buf.length - IPV6_HEADER_BYTES;
  buf[4] = payload >> 8;
  buf[5] = payload & 0xff;
  buf[6] = next;
  buf[7] = hopLimit;
  buf.set(src, 8);
  buf.set(dst, 24);
}

function setChecksumAt(buf: Uint8Array, at: number, c: number): void {
  buf[at] = c >> 8;
  buf[at + 1] = c & 0xff;
}

/**
 * The ICMP error layout shared by v4 (RFC 792) and v6 (RFC 4443 §2.1): type, code, checksum
 * (left zero here), a 32-bit rest-of-header, then the quoted packet. Checksums differ by family.
 */
function writeIcmpErrorBody(pkt: Uint8Array, icmp: number, type: number, code: number, rest: number, quote: Uint8Array): void {
  pkt[icmp] = type;
  pkt[icmp + 1] = code;
  pkt[icmp + 4] = rest >>> 24;
  pkt[icmp + 5] = (rest >>> 16) & 0xff;
  pkt[icmp + 6] = (rest >>> 8) & 0xff;
  pkt[icmp + 7] = rest & 0xff;
  pkt.set(quote, icmp + ICMP_HEADER_BYTES);
}

/**
 * An ICMPv4 error about `orig` from `src` (the address of this node, 4 bytes), quoting as
 * much of `orig` as fits in 576 bytes (RFC 1812 §4.3.2.3). `rest` fills bytes 4..8 of the
 * ICMP header. Returns null when no error may be sent (see mayAnswerWithIcmpError).
 */
export function buildIcmpv4Error(orig: Uint8Array, src: Uint8Array, type: number, code: number, rest = 0): Uint8Array | null {
  if (ipVersion(orig) !== 4 || !mayAnswerWithIcmpError(orig)) return null;
  const quoteLen = Math.min(ipTotalLength(orig), ICMPV4_ERROR_MAX_BYTES - IPV4_HEADER_BYTES - ICMP_HEADER_BYTES);
  const pkt = new Uint8Array(IPV4_HEADER_BYTES + ICMP_HEADER_BYTES + quoteLen);
  writeIpv4Header(pkt, src, ipSrc(orig), IP_PROTO_ICMP, DEFAULT_TTL);
  const icmp = IPV4_HEADER_BYTES;
  writeIcmpErrorBody(pkt, icmp, type, code, rest, orig.subarray(0, quoteLen));
  setChecksumAt(pkt, icmp + 2, internetChecksum(pkt, icmp, pkt.length - icmp));
  return pkt;
}

/**
 * ICMPv4 Destination Unreachable, Fragmentation Needed and DF set (type 3 code 4), with the
 * next-hop MTU in the low 16 bits of the rest-of-header (RFC 1191 §4).
 */
export function buildIcmpv4FragmentationNeeded(orig: Uint8Array, src: Uint8Array, nextHopMtu: number): Uint8Array | null {
  return buildIcmpv4Error(orig, src, ICMPV4_DEST_UNREACHABLE, ICMPV4_CODE_FRAGMENTATION_NEEDED, nextHopMtu & 0xffff);
}

/** ICMPv4 Destination Unreachable (type 3) with `code` (e.g. ICMPV4_CODE_HOST_UNREACHABLE). */
export function buildIcmpv4DestinationUnreachable(orig: Uint8Array, src: Uint8Array, code: number): Uint8Array | null {
  return buildIcmpv4Error(orig, src, ICMPV4_DEST_UNREACHABLE, code);
}

/**
 * An ICMPv6 error about `orig` from `src` (16 bytes), quoting as much of `orig` as fits in
 * the minimum MTU of 1280 bytes (RFC 4443 §2.4(c)); checksum over the pseudo-header
 * (RFC 4443 §2.3). `rest` is the 32-bit field after the checksum (MTU for Packet Too Big,
 * pointer for Parameter Problem, else 0).
 */
export function buildIcmpv6Error(orig: Uint8Array, src: Uint8Array, type: number, code: number, rest = 0): Uint8Array | null {
  if (ipVersion(orig) !== 6 || !mayAnswerWithIcmpError(orig, type === ICMPV6_PACKET_TOO_BIG)) return null;
  const quoteLen = Math.min(ipTotalLength(orig), IPV6_MIN_MTU - IPV6_HEADER_BYTES - ICMP_HEADER_BYTES);
  const pkt = new Uint8Array(IPV6_HEADER_BYTES + ICMP_HEADER_BYTES + quoteLen);
  writeIpv6Header(pkt, src, ipSrc(orig), IP_PROTO_ICMPV6, DEFAULT_TTL);
  const icmp = IPV6_HEADER_BYTES;
  writeIcmpErrorBody(pkt, icmp, type, code, rest, orig.subarray(0, quoteLen));
  const len = pkt.length - icmp;
  setChecksumAt(pkt, icmp + 2, internetChecksum(pkt, icmp, len, pseudoHeaderSum(pkt, 0, IP_PROTO_ICMPV6, len)));
  return pkt;
}

/** ICMPv6 Packet Too Big (type 2, code 0) carrying `mtu` (RFC 4443 §3.2). */
export function buildIcmpv6PacketTooBig(orig: Uint8Array, src: Uint8Array, mtu: number): Uint8Array | null {
  return buildIcmpv6Error(orig, src, ICMPV6_PACKET_TOO_BIG, 0, mtu >>> 0);
}

/** ICMPv6 Destination Unreachable (type 1) with `code` (RFC 4443 §3.1). */
export function buildIcmpv6DestinationUnreachable(orig: Uint8Array, src: Uint8Array, code: number): Uint8Array | null {
  return buildIcmpv6Error(orig, src, ICMPV6_DEST_UNREACHABLE, code);
}

export interface EchoOptions {
  /** 4 bytes for ICMPv4, 16 for ICMPv6 (both addresses must be the same family). */
  src: Uint8Array;
  dst: Uint8Array;
  id: number;
  seq: number;
  payload?: Uint8Array;
  isReply?: boolean;
  /** TTL / hop limit (default 64). */
  ttl?: number;
}

/** An ICMP(v6) Echo Request/Reply packet (RFC 792 p.14, RFC 4443 §4), family from `src`. */
export function buildIcmpEcho(o: EchoOptions): Uint8Array {
  const isV6 = o.src.length === 16;
  const ipLen = isV6 ? IPV6_HEADER_BYTES : IPV4_HEADER_BYTES;
  const payload = o.payload ?? new Uint8Array(0);
  const pkt = new Uint8Array(ipLen + ICMP_HEADER_BYTES + payload.length);
  const ttl = o.ttl ?? DEFAULT_TTL;
  if (isV6) writeIpv6Header(pkt, o.src, o.dst, IP_PROTO_ICMPV6, ttl);
  else writeIpv4Header(pkt, o.src, o.dst, IP_PROTO_ICMP, ttl);
  const t = isV6 ? (o.isReply ? ICMPV6_ECHO_REPLY : ICMPV6_ECHO_REQUEST) : o.isReply ? ICMPV4_ECHO_REPLY : ICMPV4_ECHO_REQUEST;
  pkt[ipLen] = t;
  pkt[ipLen + 4] = (o.id >> 8) & 0xff;
  pkt[ipLen + 5] = o.id & 0xff;
  pkt[ipLen + 6] = (o.seq >> 8) & 0xff;
  pkt[ipLen + 7] = o.seq & 0xff;
  pkt.set(payload, ipLen + ICMP_HEADER_BYTES);
  const len = pkt.length - ipLen;
  const initial = isV6 ? pseudoHeaderSum(pkt, 0, IP_PROTO_ICMPV6, len) : 0;
  setChecksumAt(pkt, ipLen + 2, internetChecksum(pkt, ipLen, len, initial));
  return pkt;
}

/**
 * Turns an Echo Request at `pkt[off]` into the matching Echo Reply in place: swaps the
 * addresses, changes the type, fixes the ICMP checksum. Returns false (packet untouched) if
 * it is not a well-formed echo request. This is what an echo peer in tests does.
 */
export function echoRequestToReply(pkt: Uint8Array, off = 0, len = pkt.length - off): boolean {
  if (!isWellFormedIp(pkt, off, len)) return false;
  const v = ipVersion(pkt, off);
  // Fragments cannot be answered one by one: v4 MF set or offset ≠ 0, or any v6 extension.
  if (v === 4 && isIpv4Fragment(pkt, off)) return false;
  if (v === 6 && pkt[off + 6] !== IP_PROTO_ICMPV6) return false;
  const proto = ipProtocol(pkt, off);
  const at = off + ipUpperOffset(pkt, off);
  const icmpLen = ipTotalLength(pkt, off) - (at - off);
  if (icmpLen < ICMP_HEADER_BYTES) return false;
  const isV4Echo = v === 4 && proto === IP_PROTO_ICMP && pkt[at] === ICMPV4_ECHO_REQUEST;
  const isV6Echo = v === 6 && proto === IP_PROTO_ICMPV6 && pkt[at] === ICMPV6_ECHO_REQUEST;
  if (!isV4Echo && !isV6Echo) return false;
  swapIpAddresses(pkt, off);
  pkt[at] = isV6Echo ? ICMPV6_ECHO_REPLY : ICMPV4_ECHO_REPLY;
  // Recompute rather than patch: echo is a test path, and this also repairs bad senders.
  pkt[at + 2] = 0;
  pkt[at + 3] = 0;
  const initial = isV6Echo ? pseudoHeaderSum(pkt, off, IP_PROTO_ICMPV6, icmpLen) : 0;
  setChecksumAt(pkt, at + 2, internetChecksum(pkt, at, icmpLen, initial));
  return true;
}
