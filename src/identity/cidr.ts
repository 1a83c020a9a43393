/**
 * IPv4/IPv6 prefix matching for the trusted-source authorizer.
 *
 * Written here instead of using node:net's BlockList so this folder's sans-IO parts
 * import no networking module (STYLE.md §3). Addresses are IP literals as QUIC reports
 * them; an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket shows for
 * an IPv4 peer) matches IPv4 prefixes, so one config works on both kinds of socket.
 */
import { ERR_CIDR_INVALID, IdentityError } from './errors.js';

export interface Cidr {
  /** The prefix as written (for principals and logs). */
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
}

/** Parses `addr/len` or a bare address (a /32 or /128). Throws IdentityError ERR_CIDR_INVALID. */
export function parseCidr(text: string): Cidr {
  const [addrText, lenText, extra] = text.trim().split('/');
  const bytes = addrText === undefined ? null : parseIp(addrText);
  if (bytes === null || extra !== undefined) {
    throw new IdentityError(ERR_CIDR_INVALID, `invalid address prefix: ${JSON.stringify(text)}`);
  }
  const max = bytes.byteLength * 8;
  const prefixLength = lenText === undefined ? max : /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
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
 * A zone (`fe80::1%eth0`) is dropped: trust is configured by address, not interface.
 */
export function parseIp(text: string): Uint8Array | null {
  const s = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (s.includes(':')) {
    const v6 = parseIpv6(s);
    if (v6 === null) return null;
    const isMapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
    return isMapped ? v6.slice(12) : v6;
  }
  return parseIpv4(s);
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    // Decimal only, no leading zeros: "010" is octal to some parsers, so refuse it.
    if (!/^(0|[1-9]\d{0,2})$/.test(parts[i]!)) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | null {
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const groups: number[] = [];
  const all = [...head, ...tail];
  let v4: Uint8Array | null = null;
  // An embedded dotted IPv4 may only be the very last piece.
  const last = all[all.length - 1];
  if (last !== undefined && last.includes('.')) {
    v4 = parseIpv4(last);
    if (v4 === null) return null;
    if (tail.length > 0) tail.pop();
    else head.pop();
  }
  for (const g of [...head, ...tail]) if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
  const total = head.length + tail.length + (v4 ? 2 : 0);
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const zeros = 8 - total;
  for (const g of head) groups.push(parseInt(g, 16));
  for (let i = 0; i < (halves.length === 2 ? zeros : 0); i++) groups.push(0);
  for (const g of tail) groups.push(parseInt(g, 16));
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}
