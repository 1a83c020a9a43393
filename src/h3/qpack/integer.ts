/**
 * Prefixed integers (RFC 7541 §5.1, used unchanged by RFC 9204 §4.1.1).
 *
 * An N-bit prefix holds values below 2^N − 1 directly; otherwise it is all ones and
 * the rest follows in 7-bit little-endian groups with a continuation bit.
 *
 * Limits (RFC 7541 §5.1 lets a decoder reject encodings that "exceed implementation
 * limits — in value or octet length"): values above 2^53 − 1 (QPACK_INT_MAX) and more
 * than QPACK_INT_MAX_CONT_BYTES continuation bytes are rejected with WireError
 * `ERR_QPACK_INT_OVERFLOW`. Callers wrap it in the H3Error their stream requires.
 */
import { WireError } from '../../core/errors.js';
import type { Writer } from '../../wire/writer.js';

/** Largest integer we decode or encode: Number.MAX_SAFE_INTEGER. */
export const QPACK_INT_MAX = Number.MAX_SAFE_INTEGER;
/** 8 groups of 7 bits cover 2^53; two more allow some non-minimal zero padding. */
export const QPACK_INT_MAX_CONT_BYTES = 10;

/**
 * A read position over bytes. `wire/Reader` satisfies it. Readers in this folder advance
 * `off` only when a whole item was read; on "need more bytes" they leave it unchanged.
 */
export interface ByteCursor {
  readonly buf: Uint8Array;
  off: number;
  readonly end: number;
}

function overflow(): WireError {
  return new WireError('ERR_QPACK_INT_OVERFLOW', 'qpack: prefixed integer exceeds implementation limit');
}

/**
 * Reads an integer with a `prefixBits`-bit prefix (1–8) at `c.off`; the bits above the
 * prefix in the first byte are ignored (they are the caller's flags).
 * Returns the value and advances `c.off`, or returns -1 and leaves `c.off` unchanged when
 * the bytes end first ("need more", not an error). Throws ERR_QPACK_INT_OVERFLOW.
 */
export function readPrefixedInt(c: ByteCursor, prefixBits: number): number {
  const { buf, end } = c;
  let off = c.off;
  if (off >= end) return -1;
  const mask = (1 << prefixBits) - 1;
  let v = buf[off++] & mask;
  if (v < mask) {
    c.off = off;
    return v;
  }
  let mul = 1;
  for (let n = 0; ; n++) {
    if (n >= QPACK_INT_MAX_CONT_BYTES) throw overflow();
    if (off >= end) return -1;
    const b = buf[off++];
    v += (b & 0x7f) * mul;
    if (v > QPACK_INT_MAX) throw overflow();
    if ((b & 0x80) === 0) break;
    mul *= 128;
  }
  c.off = off;
  return v;
}

/**
 * Writes `value` with a `prefixBits`-bit prefix; `flags` are the bits above the prefix in
 * the first byte (e.g. 0xc0 for an indexed static field line). Minimal encoding.
 * Throws ERR_QPACK_INT_OVERFLOW for negative, non-integer or > QPACK_INT_MAX values.
 */
export function writePrefixedInt(w: Writer, flags: number, prefixBits: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw overflow();
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    w.u8(flags | value);
    return;
  }
  w.u8(flags | mask);
  let rest = value - mask;
  while (rest >= 128) {
    w.u8((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  w.u8(rest);
}

/** Bytes writePrefixedInt would emit for `value` with a `prefixBits`-bit prefix. */
export function prefixedIntLen(prefixBits: number, value: number): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return 1;
  let n = 2;
  for (let rest = value - mask; rest >= 128; rest = Math.floor(rest / 128)) n++;
  return n;
}
