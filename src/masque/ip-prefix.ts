/**
 * IP addresses and prefixes as raw bytes (the form they take in RFC 9484 §4.7 capsules).
 *
 * Sans-IO (no node:net, STYLE.md §3). Address text is read and written by wire/ip-address.ts
 * (strict: dotted-quad IPv4 without leading zeros, RFC 4291 §2.2 IPv6 text with a dotted quad
 * only as the last piece, no zone IDs or brackets; RFC 5952 output). This file adds its own
 * rule on top: an IPv6 text length limit.
 */
import { IpAddressError } from './errors.js';
import { formatIpAddress as formatAddressText, parseIpAddress as parseAddressText } from '../wire/ip-address.js';

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

/**
 * Parses an IPv4 or IPv6 literal (no brackets, no zone ID). Returns null when `s` is not one.
 * The returned bytes are a fresh array owned by the caller.
 */
export function parseIpAddress(s: string): { version: IpVersion; bytes: Uint8Array } | null {
  // Our own limit, checked before wire/: no IPv6 literal is shorter than '::' or longer than
  // 45 characters (six 4-digit groups plus a dotted quad).
  if (s.includes(':') && (s.length < 2 || s.length > 45)) return null;
  const b = parseAddressText(s);
  if (b === null) return null;
  return { version: b.length === 4 ? 4 : 6, bytes: b };
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
  return formatAddressText(b, 0, ipAddressLen(version));
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
