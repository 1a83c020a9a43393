/**
 * A read cursor over a byte slice (like quiche's `octets::Octets`).
 *
 * Reads past the end throw WireError `ERR_WIRE_TRUNCATED`; codecs above turn that into
 * their own layer's error (e.g. a malformed capsule). `bytes()` returns a view into the
 * underlying buffer, not a copy: the caller must copy if it keeps it beyond the buffer's life.
 */
import { WireError } from '../core/errors.js';
import { readVarintAt, varintLenFromFirstByte } from './varint.js';

export class Reader {
  readonly buf: Uint8Array;
  off: number;
  readonly end: number;

  constructor(buf: Uint8Array, off = 0, end = buf.length) {
    this.buf = buf;
    this.off = off;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.off;
  }

  private need(n: number): void {
    if (this.off + n > this.end) {
      throw new WireError('ERR_WIRE_TRUNCATED', `need ${n} bytes, have ${this.end - this.off}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++];
  }

  u16(): number {
    this.need(2);
    const v = (this.buf[this.off] << 8) | this.buf[this.off + 1];
    this.off += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const o = this.off;
    this.off += 4;
    return b[o] * 2 ** 24 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
  }

  /** A varint of any length form (RFC 9000 §16). */
  varint(): number {
    this.need(1);
    const n = varintLenFromFirstByte(this.buf[this.off]);
    this.need(n);
    const v = readVarintAt(this.buf, this.off, this.end);
    this.off += n;
    return v;
  }

  /** `n` bytes as a view (no copy). */
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }

  /** Everything left, as a view. */
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }
}
