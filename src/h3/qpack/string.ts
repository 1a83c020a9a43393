/**
 * String literals (RFC 9204 §4.1.2, from RFC 7541 §5.2): an H flag just above an
 * N-bit length prefix, the length, then raw or Huffman-coded bytes. Strings are latin1
 * (see types.ts): char code = byte.
 */
import { Buffer } from 'node:buffer';
import { WireError } from '../../core/errors.js';
import type { Writer } from '../../wire/writer.js';
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from './huffman.js';
import { type ByteCursor, readPrefixedInt, writePrefixedInt } from './integer.js';

/**
 * Reads a string literal whose length has a `prefixBits`-bit prefix and whose H flag is
 * bit `prefixBits` of the first byte. Returns the string and advances `c.off`, or null
 * (offset unchanged) when the bytes end first. Throws WireError:
 * `ERR_QPACK_STRING_TOO_LONG` when the encoded length exceeds `maxEncodedBytes` (checked
 * before waiting for the bytes, so incremental callers never buffer a hopeless string),
 * plus the integer and Huffman errors.
 */
export function readStringLiteral(c: ByteCursor, prefixBits: number, maxEncodedBytes = Infinity): string | null {
  const start = c.off;
  if (start >= c.end) return null;
  const isHuffman = (c.buf[start] & (1 << prefixBits)) !== 0;
  const len = readPrefixedInt(c, prefixBits);
  if (len < 0) return null;
  if (len > maxEncodedBytes) {
    throw new WireError('ERR_QPACK_STRING_TOO_LONG', `qpack: string literal of ${len} bytes exceeds ${maxEncodedBytes}`);
  }
  if (c.end - c.off < len) {
    c.off = start;
    return null;
  }
  const from = c.off;
  c.off += len;
  if (isHuffman) return huffmanDecode(c.buf, from, from + len);
  return Buffer.from(c.buf.buffer, c.buf.byteOffset + from, len).toString('latin1');
}

/**
 * Writes `s` as a string literal: `flags` are the first byte's bits above the H flag,
 * the H flag is bit `prefixBits`. Huffman is used only when strictly shorter than the
 * raw bytes (RFC 7541 §5.2 leaves the choice to the encoder).
 */
export function writeStringLiteral(w: Writer, flags: number, prefixBits: number, s: string): void {
  const huffLen = huffmanEncodedLength(s);
  if (huffLen < s.length) {
    writePrefixedInt(w, flags | (1 << prefixBits), prefixBits, huffLen);
    huffmanEncode(w, s);
  } else {
    writePrefixedInt(w, flags, prefixBits, s.length);
    w.bytes(Buffer.from(s, 'latin1'));
  }
}

/** Bytes writeStringLiteral emits for the payload of `s` (without the length prefix). */
export function stringLiteralPayloadLen(s: string): number {
  return Math.min(huffmanEncodedLength(s), s.length);
}
