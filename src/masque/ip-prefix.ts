/**
 * IP addresses and prefixes as raw bytes (the form they take in RFC 9484 §4.7 capsules).
 *
 * Sans-IO and dependency-free (no node:net, STYLE.md §3). Parsing is strict: dotted-quad IPv4
 * without leading zeros, RFC 4291 §2.2 IPv6 text (with an optional trailing dotted quad), no
 * zone IDs. Formatting is canonical: RFC 5952 for IPv6 (`::ffff:a.b.c.d` for IPv4-mapped).
 */
import { IpAddressError } from './errors.js';

export type IpVersion = 4 | 6;

/**
 * An address (`prefixLen` = 32/128) or a prefix. `bytes` has 4 (v4) or 16 (v6) bytes; it is
 * owned by the value — functions here never mutate it, callers must not either.
 */
export interface IpPrefix {
  readonly version: IpVersion;
  readonly bytes: Uint8Array;
  readonly prefixLen: number;
}

/** Address length in bytes for an IP version. */
export function ipAddressLen(version: IpVersion): 4 | 16 {
  return version === 4 ? 4 : 16;
}

/** Address length in bits for an IP version. */
export function ipBitLen(version: IpVersion): 32 | 128 {
  return version === 4 ? 32 : 128;
}

const V4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

function parseV4(s: string): Uint8Array | null {
  const m = V4_RE.exec(s);
  if (m === null) return null;
  return Uint8Array.of(+m[1], +m[2], +m[3], +m[4]);
}

function parseGroups(part: string, out: number[]): boolean {
  if (part === '') return true;
  for (const g of part.split(':')) {
    if (!HEX_GROUP_RE.test(g)) return false;
    out.push(parseInt(g, 16));
  }
  return true;
}

function parseV6(s: string): Uint8Array | null {
  if (s.length < 2 || s.length > 45) return null;
  let tail: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) !== -1) {
    tail = parseV4(s.slice(lastColon + 1));
    if (tail === null) return null;
    s = s.slice(0, lastColon + 1) + '0:0'; // placeholder groups, overwritten below
  }
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return null;
  const head: number[] = [];
  const rest: number[] = [];
  if (dbl === -1) {
    if (!parseGroups(s, head) || head.length !== 8) return null;
  } else {
    if (!parseGroups(s.slice(0, dbl), head) || !parseGroups(s.slice(dbl + 2), rest)) return null;
    if (head.length + rest.length > 7) return null; // '::' stands for at least one group
  }
  const groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  if (tail !== null) out.set(tail, 12);
  return out;
}

/**
 * Parses an IPv4 or IPv6 literal (no brackets, no zone ID). Returns null when `s` is not one.
 * The returned bytes are a fresh array owned by the caller.
 */
export function parseIpAddress(s: string): { version: IpVersion; bytes: Uint8Array } | null {
  if (s.includes(':')) {
    const b = parseV6(s);
    return b === null ? null : { version: 6, bytes: b };
  }
  const b = parseV4(s);
  return b === null ? null : { version: 4, bytes: b };
}

/** True when the first `prefixLen` bits hold the whole value (host bits are zero). */
export function hasZeroHostBits(bytes: Uint8Array, prefixLen: number): boolean {
  for (let bit = prefixLen; bit < bytes.length * 8; bit++) {
    if ((bytes[bit >> 3] >> (7 - (bit & 7))) & 1) return false;
  }
  return true;
}

/** A copy of `bytes` with every bit after `prefixLen` cleared. */
export function maskBytes(bytes: Uint8Array, prefixLen: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLen - 8 * i));
    out[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

/**
 * Parses `addr` or `addr/len` (CIDR). A bare address gets the full length. Returns null when
 * invalid; with `isHostBitsZeroRequired` (default true) also when bits after `len` are set.
 */
export function parseIpPrefix(s: string, isHostBitsZeroRequired = true): IpPrefix | null {
  const slash = s.indexOf('/');
  const a = parseIpAddress(slash === -1 ? s : s.slice(0, slash));
  if (a === null) return null;
  const max = ipBitLen(a.version);
  let len: number = max;
  if (slash !== -1) {
    const t = s.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(t)) return null;
    len = +t;
    if (len > max) return null;
  }
  if (isHostBitsZeroRequired && !hasZeroHostBits(a.bytes, len)) return null;
  return { version: a.version, bytes: a.bytes, prefixLen: len };
}

/** Like parseIpPrefix but throws IpAddressError ERR_IP_PREFIX_INVALID (for configuration). */
export function ipPrefix(s: string): IpPrefix {
  const p = parseIpPrefix(s);
  if (p === null) throw new IpAddressError('ERR_IP_PREFIX_INVALID', `masque: invalid IP prefix '${s}'`);
  return p;
}

/** Canonical text of an address: dotted quad, or RFC 5952 IPv6. */
export function formatIpAddress(version: IpVersion, b: Uint8Array): string {
  if (version === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i] << 8) | b[2 * i + 1]);
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  // RFC 5952 §4.2: compress the longest run (≥2) of zero groups, the first one on a tie.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt === -1) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** `addr/len` text of a prefix (always with the length). */
export function formatIpPrefix(p: IpPrefix): string {
  return `${formatIpAddress(p.version, p.bytes)}/${p.prefixLen}`;
}

/** Lexicographic (numeric) comparison of two equal-length addresses: <0, 0, >0. */
export function compareIpBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** True when `bytes` (same version) lies inside prefix `p`. */
export function prefixContains(p: IpPrefix, version: IpVersion, bytes: Uint8Array): boolean {
  if (p.version !== version) return false;
  const full = p.prefixLen >> 3;
  for (let i = 0; i < full; i++) if (p.bytes[i] !== bytes[i]) return false;
  const rem = p.prefixLen & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (p.bytes[full] & mask) === (bytes[full] & mask);
}

/** True when prefix `inner` lies entirely inside `outer`. */
export function prefixCovers(outer: IpPrefix, inner: IpPrefix): boolean {
  return inner.prefixLen >= outer.prefixLen && prefixContains(outer, inner.version, inner.bytes);
}

/** Value equality (version, bytes, length). */
export function ipPrefixEquals(a: IpPrefix, b: IpPrefix): boolean {
  return a.version === b.version && a.prefixLen === b.prefixLen && compareIpBytes(a.bytes, b.bytes) === 0;
}

/** True for 0.0.0.0 / :: (the "no preference" / refusal address of RFC 9484 §4.7). */
export function isAllZero(bytes: Uint8Array): boolean {
  for (const x of bytes) if (x !== 0) return false;
  return true;
}
