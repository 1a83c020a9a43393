/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) header peeks for packets sitting in a buffer at an
 * offset (TUN read slots have headroom). All peeks are allocation-free except the address
 * views/strings; they trust nothing: `isWellFormedIp()` first, or accept -1/0 for garbage.
 *
 * Not here: reassembly, option parsing, anything that would make per-packet work allocate.
 */
import { internetChecksum, updateChecksum16 } from './checksum.js';
import { formatIpAddress } from './ip-address.js';

export const IPV4_HEADER_BYTES = 20;
export const IPV6_HEADER_BYTES = 40;
/** IANA protocol numbers (RFC 5237 registry). */
export const IP_PROTO_HOPOPTS = 0;
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;
export const IP_PROTO_IPV6_ROUTE = 43;
export const IP_PROTO_IPV6_FRAG = 44;
export const IP_PROTO_ESP = 50;
export const IP_PROTO_AH = 51;
export const IP_PROTO_ICMPV6 = 58;
export const IP_PROTO_IPV6_NONXT = 59;
export const IP_PROTO_IPV6_DSTOPTS = 60;
/** Smallest MTU every IPv6 link has (RFC 8200 §5); IPv4's is 68 (RFC 791). */
export const IPV6_MIN_MTU = 1280;
export const IPV4_MIN_MTU = 68;

/** 4, 6, or 0 for an empty buffer; other values are returned as found (not an IP packet). */
export function ipVersion(pkt: Uint8Array, off = 0): number {
  return off < pkt.length ? pkt[off] >> 4 : 0;
}

/** Bytes of the fixed header (IPv4: IHL × 4, options included; IPv6: 40, no extensions). */
export function ipHeaderLength(pkt: Uint8Array, off = 0): number {
  const v = ipVersion(pkt, off);
  if (v === 4) return (pkt[off] & 0x0f) * 4;
  return v === 6 ? IPV6_HEADER_BYTES : 0;
}

/** Total packet length from the header (IPv4 Total Length; IPv6 40 + Payload Length). */
export function ipTotalLength(pkt: Uint8Array, off = 0): number {
  const v = ipVersion(pkt, off);
  if (v === 4 && off + 4 <= pkt.length) return (pkt[off + 2] << 8) | pkt[off + 3];
  if (v === 6 && off + 6 <= pkt.length) return IPV6_HEADER_BYTES + ((pkt[off + 4] << 8) | pkt[off + 5]);
  return 0;
}

/**
 * True if the `len` bytes at `pkt[off]` hold a complete IPv4/IPv6 packet: known version,
 * sane header length, and a header-declared length that fits in (and, for IPv4, covers the
 * header of) the bytes we have. Trailing bytes beyond the declared length are allowed
 * (Ethernet padding), as the kernel does. Does not verify the IPv4 header checksum.
 */
export function isWellFormedIp(pkt: Uint8Array, off = 0, len = pkt.length - off): boolean {
  if (len < 1 || off + len > pkt.length) return false;
  const v = pkt[off] >> 4;
  if (v === 4) {
    const hl = (pkt[off] & 0x0f) * 4;
    if (hl < IPV4_HEADER_BYTES || len < hl) return false;
    const total = ipTotalLength(pkt, off);
    return total >= hl && total <= len;
  }
  if (v === 6) return len >= IPV6_HEADER_BYTES && ipTotalLength(pkt, off) <= len;
  return false;
}

/** Source address as a view (4 or 16 bytes; no copy — copy it to keep it). */
export function ipSrc(pkt: Uint8Array, off = 0): Uint8Array {
  return ipVersion(pkt, off) === 6 ? pkt.subarray(off + 8, off + 24) : pkt.subarray(off + 12, off + 16);
}

/** Destination address as a view (4 or 16 bytes; no copy). */
export function ipDst(pkt: Uint8Array, off = 0): Uint8Array {
  return ipVersion(pkt, off) === 6 ? pkt.subarray(off + 24, off + 40) : pkt.subarray(off + 16, off + 20);
}

/** Source address as text (allocates; for logs and tests, not per packet). */
export function ipSrcString(pkt: Uint8Array, off = 0): string {
  return ipVersion(pkt, off) === 6 ? formatIpAddress(pkt, off + 8, 16) : formatIpAddress(pkt, off + 12, 4);
}

/** Destination address as text (allocates). */
export function ipDstString(pkt: Uint8Array, off = 0): string {
  return ipVersion(pkt, off) === 6 ? formatIpAddress(pkt, off + 24, 16) : formatIpAddress(pkt, off + 16, 4);
}

/** IPv4 source address as an unsigned 32-bit number (no allocation; e.g. for Map keys). */
export function ipv4SrcU32(pkt: Uint8Array, off = 0): number {
  return ((pkt[off + 12] << 24) | (pkt[off + 13] << 16) | (pkt[off + 14] << 8) | pkt[off + 15]) >>> 0;
}

/** IPv4 destination address as an unsigned 32-bit number. */
export function ipv4DstU32(pkt: Uint8Array, off = 0): number {
  return ((pkt[off + 16] << 24) | (pkt[off + 17] << 16) | (pkt[off + 18] << 8) | pkt[off + 19]) >>> 0;
}

/**
 * Walks IPv6 extension headers (RFC 8200 §4) from the fixed header to the upper layer.
 * Returns `offset * 256 + protocol` (offset relative to `off`) so callers get both without
 * an allocation; -1 if truncated. A non-first fragment stops at the Fragment header
 * (its upper-layer header is elsewhere) and reports IP_PROTO_IPV6_FRAG.
 */
function ipv6UpperLayer(pkt: Uint8Array, off: number): number {
  const end = Math.min(pkt.length, off + ipTotalLength(pkt, off));
  let next = pkt[off + 6];
  let at = IPV6_HEADER_BYTES;
  for (;;) {
    switch (next) {
      case IP_PROTO_HOPOPTS:
      case IP_PROTO_IPV6_ROUTE:
      case IP_PROTO_IPV6_DSTOPTS: {
        if (off + at + 2 > end) return -1;
        const n = pkt[off + at];
        at += (pkt[off + at + 1] + 1) * 8;
        next = n;
        break;
      }
      case IP_PROTO_IPV6_FRAG: {
        if (off + at + 8 > end) return -1;
        const fragOffset = ((pkt[off + at + 2] << 8) | pkt[off + at + 3]) >> 3;
        if (fragOffset !== 0) return at * 256 + IP_PROTO_IPV6_FRAG;
        next = pkt[off + at];
        at += 8;
        break;
      }
      case IP_PROTO_AH: {
        // RFC 4302 §2.2: Payload Len is in 4-octet units, minus 2.
        if (off + at + 2 > end) return -1;
        const n = pkt[off + at];
        at += (pkt[off + at + 1] + 2) * 4;
        next = n;
        break;
      }
      default:
        return off + at > end ? -1 : at * 256 + next;
    }
  }
}

/**
 * Upper-layer protocol (IANA number): IPv4 Protocol; for IPv6 the header after any
 * extension headers (what the RFC 9484 §3 `ipproto` scope and §4.7.3 route protocol mean). -1 if malformed.
 */
export function ipProtocol(pkt: Uint8Array, off = 0): number {
  const v = ipVersion(pkt, off);
  if (v === 4) return off + 10 <= pkt.length ? pkt[off + 9] : -1;
  if (v !== 6 || off + IPV6_HEADER_BYTES > pkt.length) return -1;
  const r = ipv6UpperLayer(pkt, off);
  return r < 0 ? -1 : r & 0xff;
}

/** Offset of the upper-layer header relative to `off` (IPv4: IHL × 4), or -1 if malformed. */
export function ipUpperOffset(pkt: Uint8Array, off = 0): number {
  const v = ipVersion(pkt, off);
  if (v === 4) return ipHeaderLength(pkt, off);
  if (v !== 6 || off + IPV6_HEADER_BYTES > pkt.length) return -1;
  const r = ipv6UpperLayer(pkt, off);
  return r < 0 ? -1 : Math.floor(r / 256);
}

/** IPv4 fragment offset in bytes (0 for first fragments and unfragmented packets). */
export function ipv4FragmentOffset(pkt: Uint8Array, off = 0): number {
  return (((pkt[off + 6] & 0x1f) << 8) | pkt[off + 7]) * 8;
}

/** IPv4 Don't Fragment flag (RFC 791 §3.1): set, a router answers "too big" instead of fragmenting. */
export function isIpv4DontFragment(pkt: Uint8Array, off = 0): boolean {
  return (pkt[off + 6] & 0x40) !== 0;
}

/** True for any IPv4 fragment: More Fragments set or a non-zero fragment offset (RFC 791 §3.1). */
export function isIpv4Fragment(pkt: Uint8Array, off = 0): boolean {
  return (pkt[off + 6] & 0x20) !== 0 || ipv4FragmentOffset(pkt, off) !== 0;
}

/** Computes and stores the IPv4 header checksum (RFC 791 §3.1). */
export function setIpv4HeaderChecksum(pkt: Uint8Array, off = 0): void {
  pkt[off + 10] = 0;
  pkt[off + 11] = 0;
  const c = internetChecksum(pkt, off, ipHeaderLength(pkt, off));
  pkt[off + 10] = c >> 8;
  pkt[off + 11] = c & 0xff;
}

/** True if the IPv4 header checksum verifies. */
export function isIpv4HeaderChecksumValid(pkt: Uint8Array, off = 0): boolean {
  return internetChecksum(pkt, off, ipHeaderLength(pkt, off)) === 0;
}

/**
 * Decrements IPv4 TTL / IPv6 Hop Limit in place, updating the IPv4 header checksum
 * incrementally (RFC 1624). Returns false — leaving the packet unchanged — if the value is
 * already ≤ 1: the packet must not be forwarded (send ICMP Time Exceeded instead,
 * RFC 1812 §5.3.1, RFC 8200 §3).
 */
export function decrementTtl(pkt: Uint8Array, off = 0): boolean {
  const v = ipVersion(pkt, off);
  if (v === 6) {
    if (pkt[off + 7] <= 1) return false;
    pkt[off + 7]--;
    return true;
  }
  if (v !== 4 || pkt[off + 8] <= 1) return false;
  // TTL is the high byte of the 16-bit word shared with Protocol.
  const oldWord = (pkt[off + 8] << 8) | pkt[off + 9];
  pkt[off + 8]--;
  const c = updateChecksum16((pkt[off + 10] << 8) | pkt[off + 11], oldWord, oldWord - 0x100);
  pkt[off + 10] = c >> 8;
  pkt[off + 11] = c & 0xff;
  return true;
}

/**
 * Swaps source and destination addresses in place. No checksum changes: the IPv4 header
 * checksum and the TCP/UDP/ICMPv6 pseudo-header sums are commutative in the two addresses.
 * Used by echo devices in tests and benchmarks.
 */
export function swapIpAddresses(pkt: Uint8Array, off = 0): void {
  const isV6 = ipVersion(pkt, off) === 6;
  const a = off + (isV6 ? 8 : 12);
  const n = isV6 ? 16 : 4;
  for (let i = 0; i < n; i++) {
    const t = pkt[a + i];
    pkt[a + i] = pkt[a + n + i];
    pkt[a + n + i] = t;
  }
}

/** Multicast (224/4, ff00::/8) or the IPv4 limited broadcast address, for the address view. */
export function isMulticastOrBroadcast(addr: Uint8Array): boolean {
  if (addr.length === 16) return addr[0] === 0xff;
  return (addr[0] & 0xf0) === 0xe0 || (addr[0] === 255 && addr[1] === 255 && addr[2] === 255 && addr[3] === 255);
}

/** The all-zero address (0.0.0.0, ::). */
export function isUnspecified(addr: Uint8Array): boolean {
  for (let i = 0; i < addr.length; i++) if (addr[i] !== 0) return false;
  return true;
}
