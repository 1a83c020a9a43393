/**
 * QUIC variable-length integers (RFC 9000 §16).
 *
 * Values are JS numbers. Values up to 2^53−1 are exact; larger ones (up to 2^62−1) are
 * returned approximately — callers treat anything above Number.MAX_SAFE_INTEGER as
 * "unknown" (frame types, setting IDs: RFC 9114 §7.2.8, §9) or clamp it (limits).
 */
import { WireError } from '../core/errors.js';

/** Largest encodable value, 2^62−1 (approximate as a number). */
export const VARINT_MAX = 2 ** 62 - 1;

/** Bytes needed to encode `v` minimally. Throws ERR_WIRE_VARINT_RANGE for v ≥ 2^62 or v < 0. */
export function varintLen(v: number): 1 | 2 | 4 | 8 {
  if (v < 0 || !Number.isFinite(v)) throw new WireError('ERR_WIRE_VARINT_RANGE', `varint out of range: ${v}`);
  if (v <= 63) return 1;
  if (v <= 16383) return 2;
  if (v <= 1073741823) return 4;
  if (v < 2 ** 62) return 8;
  throw new WireError('ERR_WIRE_VARINT_RANGE', `varint out of range: ${v}`);
}

/** Length of the varint whose first byte is `b` (from its two top bits). */
export function varintLenFromFirstByte(b: number): 1 | 2 | 4 | 8 {
  return (1 << (b >> 6)) as 1 | 2 | 4 | 8;
}

/**
 * Writes `v` minimally at `buf[off]`; returns the number of bytes written.
 * The caller guarantees room (use varintLen). Hot path: no allocation.
 */
export function writeVarint(buf: Uint8Array, off: number, v: number): number {
  const n = varintLen(v);
  switch (n) {
    case 1:
      buf[off] = v;
      break;
    case 2:
      buf[off] = 0x40 | (v >>> 8);
      buf[off + 1] = v & 0xff;
      break;
    case 4:
      buf[off] = 0x80 | (v >>> 24);
      buf[off + 1] = (v >>> 16) & 0xff;
      buf[off + 2] = (v >>> 8) & 0xff;
      buf[off + 3] = v & 0xff;
      break;
    default: {
      const hi = Math.floor(v / 2 ** 32);
      const lo = v - hi * 2 ** 32;
      buf[off] = 0xc0 | (hi >>> 24);
      buf[off + 1] = (hi >>> 16) & 0xff;
      buf[off + 2] = (hi >>> 8) & 0xff;
      buf[off + 3] = hi & 0xff;
      buf[off + 4] = lo >>> 24;
      buf[off + 5] = (lo >>> 16) & 0xff;
      buf[off + 6] = (lo >>> 8) & 0xff;
      buf[off + 7] = lo & 0xff;
    }
  }
  return n;
}

/**
 * Reads a varint at `buf[off]` (any length form, non-minimal accepted: RFC 9000 §16).
 * Returns the value, or -1 when `buf` ends before the varint does (incremental parsers
 * use this to wait for more bytes). Read its length with varintLenFromFirstByte.
 */
export function readVarintAt(buf: Uint8Array, off: number, end = buf.length): number {
  if (off >= end) return -1;
  const b0 = buf[off];
  const n = varintLenFromFirstByte(b0);
  if (off + n > end) return -1;
  switch (n) {
    case 1:
      return b0;
    case 2:
      return ((b0 & 0x3f) << 8) | buf[off + 1];
    case 4:
      return ((b0 & 0x3f) * 2 ** 24) + ((buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]);
    default: {
      const hi = ((b0 & 0x3f) * 2 ** 24) + ((buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]);
      const lo = (buf[off + 4] * 2 ** 24) + ((buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]);
      return hi * 2 ** 32 + lo;
    }
  }
}
