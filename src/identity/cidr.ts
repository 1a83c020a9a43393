/**
 * IPv4/IPv6 prefix matching for the trusted-source authorizer.
 *
 * Written here instead of using node:net's BlockList so this folder's sans-IO parts
 * import no networking module (STYLE.md §3). Addresses are IP literals as QUIC reports
 * them; an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket shows for
 * an IPv4 peer) matches IPv4 prefixes, so one config works on both kinds of socket.
 */
import { parseIpAddress } from '../wire/ip-address.js';
import { ERR_CIDR_INVALID, IdentityError } from './errors.js';

export interface Cidr {
  /** The prefix as written (for principals and logs). */
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
}

/**
 * Parses `addr/len` or a bare address (a /32 or /128). The length is written without leading
 * zeros, as masque/ip-prefix.ts requires (`ip route` would read `/010` as octal 8); host
 * bits may be set, matching masks them. Throws IdentityError ERR_CIDR_INVALID.
 */
export function parseCidr(text: string): Cidr {
  const [addrText, lenText, extra] = text.trim().split('/');
  const bytes = addrText === undefined ? null : parseIp(addrText);
  if (bytes === null || extra !== undefined) {
    throw new IdentityError(ERR_CIDR_INVALID, `invalid address prefix: ${JSON.stringify(text)}`);
  }
  const max = bytes.byteLength * 8;
  const prefixLength = lenText === undefined ? max : /^(0|[1-9]\d{0,2})$/.test(lenText) ? Number(lenText) : NaN;
  if (!(prefixLength >= 0 && prefixLength <= max)) {
    throw new IdentityError(ERR_CIDR_INVALID, `invalid prefix length in ${JSON.stringify(text)}`);
  }
  return Object.freeze({ text: text.trim(), bytes, prefixLength });
}

/** True if `address` (an IP literal) lies in `cidr`. Unparseable addresses match nothing. */
export function cidrContains(cidr: Cidr, address: string): boolean {
  const ip = parseIp(address);
  if (ip === null || ip.byteLength !== cidr.bytes.byteLength) return false;
  const full = cidr.prefixLength >> 3;
  for (let i = 0; i < full; i++) if (ip[i] !== cidr.bytes[i]) return false;
  const rest = cidr.prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (ip[full]! & mask) === (cidr.bytes[full]! & mask);
}

/**
 * 4 bytes for IPv4 (and IPv4-mapped IPv6), 16 for IPv6, null if not an IP literal.
 * Brackets (`[::1]`) are allowed. A zone (`fe80::1%eth0`) is dropped: trust is configured by
 * address, not interface. The literal itself is parsed by wire/ip-address.ts, with a dotted
 * quad only as the last piece (RFC 4291 §2.2).
 */
export function parseIp(text: string): Uint8Array | null {
  const s = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const ip = parseIpAddress(s);
  if (ip === null || ip.byteLength === 4) return ip;
  const isMapped = ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
  return isMapped ? ip.slice(12) : ip;
}
