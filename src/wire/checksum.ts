/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624), plus the
 * pseudo-header sums of TCP/UDP/ICMPv6 (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1).
 *
 * Pure functions over byte ranges; no allocation. "Sum" means the 16-bit one's-complement
 * sum (folded, not inverted); "checksum" is its inversion, the value carried in a header.
 * A received header whose checksum field is included sums to 0xffff when intact.
 */

/** One's-complement sum of `buf[off, off+len)` added to `initial`, folded to 16 bits. */
export function onesComplementSum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + len;
  let i = off;
  // 32-bit accumulation of 16-bit words cannot overflow a JS integer for any IP packet.
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8; // odd length: pad with a zero byte (RFC 1071 §4.1)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The checksum to store: the inverted one's-complement sum of the range (plus `initial`). */
export function internetChecksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return ~onesComplementSum(buf, off, len, initial) & 0xffff;
}

/**
 * Sum of the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1) pseudo-header of the packet at
 * `pkt[ipOff]`, for an upper-layer message of `upperLen` bytes with protocol `proto`.
 * Addresses are read from the packet, so build the IP header first.
 */
export function pseudoHeaderSum(pkt: Uint8Array, ipOff: number, proto: number, upperLen: number): number {
  const isV6 = pkt[ipOff] >> 4 === 6;
  // v4 addresses at 12..20, v6 at 8..40: both contiguous src‖dst.
  const sum = isV6 ? onesComplementSum(pkt, ipOff + 8, 32) : onesComplementSum(pkt, ipOff + 12, 8);
  // Upper-layer length: 16 bits in v4, 32 bits in v6 (same sum for lengths < 65536).
  return foldSum(sum + proto + (upperLen >>> 16) + (upperLen & 0xffff));
}

/** Folds carries into 16 bits. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * RFC 1624 eq. 3: the new checksum after one 16-bit word of the covered data changes from
 * `oldWord` to `newWord`: HC' = ~(~HC + ~m + m').
 */
export function updateChecksum16(checksum: number, oldWord: number, newWord: number): number {
  return ~foldSum((~checksum & 0xffff) + (~oldWord & 0xffff) + newWord) & 0xffff;
}
