/**
 * A growable write cursor. `finish()` returns a view of the written bytes (no copy);
 * the Writer must not be reused after finish() if the view is kept.
 */
import { varintLen, writeVarint } from './varint.js';

export class Writer {
  private buf: Uint8Array;
  off = 0;

  constructor(initialBytes = 64) {
    this.buf = new Uint8Array(initialBytes);
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.off + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.off));
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.off++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf[this.off++] = (v >>> 8) & 0xff;
    this.buf[this.off++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf[this.off++] = (v >>> 24) & 0xff;
    this.buf[this.off++] = (v >>> 16) & 0xff;
    this.buf[this.off++] = (v >>> 8) & 0xff;
    this.buf[this.off++] = v & 0xff;
    return this;
  }

  /** Minimal-length varint (RFC 9000 §16). Throws ERR_WIRE_VARINT_RANGE for v ≥ 2^62. */
  varint(v: number): this {
    this.ensure(varintLen(v));
    this.off += writeVarint(this.buf, this.off, v);
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
    return this;
  }

  get length(): number {
    return this.off;
  }

  /** The bytes written so far, as a view. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.off);
  }
}
