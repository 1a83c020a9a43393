/**
 * The Capsule Protocol codec (RFC 9297 §3.2) — sans-IO.
 *
 * A capsule is `Type (i) | Length (i) | Value (Length bytes)`. In HTTP/3 the capsule stream is
 * the concatenation of the DATA frame payloads of the request stream after a 2xx response;
 * capsule boundaries need not match DATA frame boundaries, so `CapsuleParser` accepts bytes in
 * arbitrary chunks. Unknown capsule types are yielded like known ones: RFC 9297 §3.2 says the
 * receiver skips them silently, which is the caller's decision (a `switch` with no default).
 */
import { Writer } from '../wire/writer.js';
import { readVarintAt, varintLen, varintLenFromFirstByte } from '../wire/varint.js';
import { CapsuleError } from './errors.js';

/** RFC 9297 §3.5: DATAGRAM capsule; value = HTTP Datagram Payload (no Quarter Stream ID). */
export const CAPSULE_DATAGRAM = 0x00;

/**
 * Default limit on one capsule's Length (64 KiB). Large enough for a DATAGRAM capsule carrying a
 * maximum UDP payload (65527 bytes, RFC 9298 §5) plus its Context ID; anything larger is treated
 * as an attack on memory (the value must be buffered whole before it is yielded).
 */
export const DEFAULT_MAX_CAPSULE_BYTES = 65536;

/** One capsule. `type` above 2^53−1 is approximate (unknown anyway: skip it, STYLE.md §4). */
export interface Capsule {
  readonly type: number;
  readonly value: Uint8Array;
}

/** Bytes taken by a capsule's Type and Length fields. */
export function capsuleHeaderLen(type: number, valueLen: number): number {
  return varintLen(type) + varintLen(valueLen);
}

/**
 * Writes `Type | Length` for a value of `valueLen` bytes. Use it to send the value from its own
 * buffer (gather write) without copying it into the Writer.
 */
export function encodeCapsuleHeader(w: Writer, type: number, valueLen: number): void {
  w.varint(type).varint(valueLen);
}

/** Writes a whole capsule: `Type | Length | Value` (RFC 9297 §3.2). */
export function encodeCapsule(w: Writer, type: number, value: Uint8Array): void {
  w.varint(type).varint(value.length).bytes(value);
}

/** Writes a DATAGRAM capsule (RFC 9297 §3.5) whose value is the HTTP Datagram Payload. */
export function encodeDatagramCapsule(w: Writer, payload: Uint8Array): void {
  encodeCapsule(w, CAPSULE_DATAGRAM, payload);
}

export interface CapsuleParserOptions {
  /** Largest accepted capsule Length; larger → ERR_CAPSULE_TOO_LARGE. Default 64 KiB. */
  maxCapsuleBytes?: number;
}

/**
 * Incremental capsule parser with two states (quiche h3/stream.rs style): waiting for the
 * Type+Length header, then for the Value.
 *
 * Usage: `push(chunk)` whenever DATA arrives, then call `next()` until it returns null (null =
 * "need more bytes", not an error). At FIN, drain `next()` and call `finish()`.
 *
 * Buffers: the parser keeps references to pushed chunks until their bytes are consumed, so the
 * caller must not reuse or mutate a chunk after pushing it. A yielded `value` is a view into a
 * pushed chunk when it lies inside one (no copy), else a fresh array; either way it is valid for
 * as long as the caller keeps that chunk unmodified. Not safe for concurrent use (single owner).
 */
export class CapsuleParser {
  private readonly maxCapsuleBytes: number;
  private chunks: Uint8Array[] = [];
  /** Offset of the first unconsumed byte in chunks[0]. */
  private headOff = 0;
  private buffered = 0;
  private isHeaderRead = false;
  private type = 0;
  private length = 0;

  constructor(opts: CapsuleParserOptions = {}) {
    this.maxCapsuleBytes = opts.maxCapsuleBytes ?? DEFAULT_MAX_CAPSULE_BYTES;
  }

  /** Bytes pushed but not yet returned as part of a capsule. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Appends stream bytes (any size, including empty). See the class doc for ownership. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next complete capsule, or null when more bytes are needed. Throws CapsuleError
   * ERR_CAPSULE_TOO_LARGE as soon as a header announces a Length above the limit (before the
   * value is buffered); the stream must then be aborted with H3_MESSAGE_ERROR.
   */
  next(): Capsule | null {
    if (!this.isHeaderRead && !this.readHeader()) return null;
    if (this.buffered < this.length) return null;
    const value = this.take(this.length);
    this.isHeaderRead = false;
    return { type: this.type, value };
  }

  /** Pushes `chunk` and returns every capsule it completes (convenience over push/next). */
  feed(chunk: Uint8Array): Capsule[] {
    this.push(chunk);
    const out: Capsule[] = [];
    for (let c = this.next(); c !== null; c = this.next()) out.push(c);
    return out;
  }

  /**
   * Call at stream FIN, after draining next(). RFC 9297 §3.3: a capsule cut by the end of the
   * stream makes the message malformed → CapsuleError ERR_CAPSULE_TRUNCATED (H3_MESSAGE_ERROR).
   */
  finish(): void {
    if (this.buffered > 0 || this.isHeaderRead) {
      throw new CapsuleError('ERR_CAPSULE_TRUNCATED', 'capsule truncated by end of stream');
    }
  }

  private readHeader(): boolean {
    if (this.buffered < 1) return false;
    const typeLen = varintLenFromFirstByte(this.peek(0));
    if (this.buffered < typeLen + 1) return false;
    const lenLen = varintLenFromFirstByte(this.peek(typeLen));
    if (this.buffered < typeLen + lenLen) return false;
    const hdr = this.peekBytes(typeLen + lenLen);
    const type = readVarintAt(hdr, 0);
    const length = readVarintAt(hdr, typeLen);
    if (length > this.maxCapsuleBytes) {
      throw new CapsuleError(
        'ERR_CAPSULE_TOO_LARGE',
        `capsule type ${type} length ${length} exceeds limit ${this.maxCapsuleBytes}`,
      );
    }
    this.consume(typeLen + lenLen);
    this.type = type;
    this.length = length;
    this.isHeaderRead = true;
    return true;
  }

  private peek(i: number): number {
    let off = this.headOff + i;
    for (const c of this.chunks) {
      if (off < c.length) return c[off];
      off -= c.length;
    }
    return -1; // unreachable: callers check `buffered` first
  }

  /** Copies the first n buffered bytes (n ≤ 16: header only). */
  private peekBytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.peek(i);
    return out;
  }

  private consume(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0];
      const avail = c.length - this.headOff;
      if (n < avail) {
        this.headOff += n;
        return;
      }
      n -= avail;
      this.chunks.shift();
      this.headOff = 0;
    }
  }

  /** Removes and returns n buffered bytes (caller checked `buffered >= n`). */
  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const c = this.chunks[0];
    if (c.length - this.headOff >= n) {
      const v = c.subarray(this.headOff, this.headOff + n);
      this.consume(n);
      return v;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.chunks[0];
      const part = Math.min(n - filled, head.length - this.headOff);
      out.set(head.subarray(this.headOff, this.headOff + part), filled);
      filled += part;
      this.consume(part);
    }
    return out;
  }
}
