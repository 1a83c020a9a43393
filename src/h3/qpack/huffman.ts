/**
 * The HPACK Huffman code (RFC 7541 Appendix B), used by QPACK string literals
 * (RFC 9204 §4.1.2).
 *
 * RFC 7541's code is canonical: codes of equal length are consecutive in symbol order
 * and each length starts where the previous one ended, shifted. So we store only the
 * 257 code lengths (symbols 0–255 plus EOS = 256) and rebuild the codes at load time.
 * The unit tests pin the result to the RFC 7541 Appendix C vectors, and the qifs corpus
 * exercises most symbols.
 *
 * Decoding (RFC 7541 §5.2) rejects, with WireError `ERR_QPACK_HUFFMAN`:
 * - the EOS symbol inside the data;
 * - padding longer than 7 bits;
 * - padding that is not all ones (not a prefix of EOS).
 */
import { Buffer } from 'node:buffer';
import { WireError } from '../../core/errors.js';
import type { Writer } from '../../wire/writer.js';

/** Code length in bits of each symbol 0–256 (RFC 7541 Appendix B, "len in bits"). */
// prettier-ignore
const CODE_LENGTHS = new Uint8Array([
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,]);

/** The EOS symbol (RFC 7541 §5.2). */
export const HUFFMAN_EOS = 256;

/** Right-aligned code of each symbol, rebuilt canonically from CODE_LENGTHS. */
const CODES = new Uint32Array(257);
/**
 * Binary decode tree: node n has children TREE[2n] (bit 0) and TREE[2n+1] (bit 1).
 * A child > 0 is an internal node, < 0 is a leaf holding -(symbol + 1); 0 = no child
 * (cannot happen for a complete code, but keeps the walk total). Node 0 is the root.
 */
const TREE = new Int32Array(2 * 256);

function build(): void {
  const order = Array.from({ length: 257 }, (_, s) => s).sort(
    (a, b) => CODE_LENGTHS[a] - CODE_LENGTHS[b] || a - b,
  );
  let code = 0;
  let prevLen = CODE_LENGTHS[order[0]];
  for (let i = 0; i < order.length; i++) {
    const len = CODE_LENGTHS[order[i]];
    if (i > 0) code = (code + 1) * 2 ** (len - prevLen);
    prevLen = len;
    CODES[order[i]] = code;
  }
  let nextNode = 1;
  for (let sym = 0; sym <= 256; sym++) {
    const len = CODE_LENGTHS[sym];
    let node = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const slot = 2 * node + ((CODES[sym] >>> bit) & 1);
      if (bit === 0) TREE[slot] = -(sym + 1);
      else {
        if (TREE[slot] === 0) TREE[slot] = nextNode++;
        node = TREE[slot];
      }
    }
  }
}
build();

/** Code (right-aligned) and length of a symbol; for tests and tools. */
export function huffmanCode(sym: number): { code: number; bits: number } {
  return { code: CODES[sym], bits: CODE_LENGTHS[sym] };
}

/** Encoded length in bytes of `s` (latin1: one byte per char code, low 8 bits). */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += CODE_LENGTHS[s.charCodeAt(i) & 0xff];
  return Math.ceil(bits / 8);
}

/**
 * Appends the Huffman encoding of `s` to `w`, padded with the EOS prefix (all ones,
 * RFC 7541 §5.2). Writes exactly huffmanEncodedLength(s) bytes.
 */
export function huffmanEncode(w: Writer, s: string): void {
  let cur = 0;
  let nbits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const code = CODES[sym];
    let len = CODE_LENGTHS[sym];
    while (len > 0) {
      const take = Math.min(len, 8 - nbits);
      cur = (cur << take) | ((code >>> (len - take)) & ((1 << take) - 1));
      nbits += take;
      len -= take;
      if (nbits === 8) {
        w.u8(cur);
        cur = 0;
        nbits = 0;
      }
    }
  }
  if (nbits > 0) w.u8((cur << (8 - nbits)) | ((1 << (8 - nbits)) - 1));
}

function huffError(why: string): WireError {
  return new WireError('ERR_QPACK_HUFFMAN', `qpack: invalid Huffman string: ${why}`);
}

/**
 * Decodes `buf[start, end)` into a latin1 string. Does not keep `buf`.
 * Throws WireError ERR_QPACK_HUFFMAN for EOS, over-long or non-EOS padding (RFC 7541 §5.2).
 */
export function huffmanDecode(buf: Uint8Array, start = 0, end = buf.length): string {
  // The shortest code is 5 bits, so at most 8/5 symbols per input byte.
  const out = Buffer.allocUnsafe(Math.ceil(((end - start) * 8) / 5));
  let n = 0;
  let node = 0;
  let depth = 0; // bits read since the last complete symbol
  let isAllOnes = true; // those bits were all ones (a prefix of EOS)
  for (let i = start; i < end; i++) {
    const byte = buf[i];
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      const next = TREE[2 * node + b];
      if (next < 0) {
        const sym = -next - 1;
        if (sym === HUFFMAN_EOS) throw huffError('EOS symbol in data');
        out[n++] = sym;
        node = 0;
        depth = 0;
        isAllOnes = true;
      } else {
        node = next;
        depth++;
        if (b === 0) isAllOnes = false;
      }
    }
  }
  if (depth > 7) throw huffError('padding longer than 7 bits');
  if (!isAllOnes) throw huffError('padding is not a prefix of EOS');
  return out.toString('latin1', 0, n);
}
