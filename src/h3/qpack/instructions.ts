/**
 * Encoder- and decoder-stream instruction codecs (RFC 9204 §4.3, §4.4), as
 * parse/encode pairs. Pure: no table state; decoder.ts and encoder.ts apply them.
 *
 * Parsers are incremental: they return null (cursor unchanged) when the bytes end inside
 * an instruction, and throw WireError (integer overflow, bad Huffman, over-long string)
 * for input no amount of extra bytes can fix. Callers wrap those in
 * H3Error(QPACK_ENCODER_STREAM_ERROR) or H3Error(QPACK_DECODER_STREAM_ERROR).
 */
import { WireError } from '../../core/errors.js';
import type { Writer } from '../../wire/writer.js';
import { type ByteCursor, readPrefixedInt, writePrefixedInt } from './integer.js';
import { STATIC_TABLE_LENGTH } from './static-table.js';
import { readStringLiteral, writeStringLiteral } from './string.js';

/** Encoder stream instructions, RFC 9204 §4.3.1–§4.3.4. */
export type EncoderInstruction =
  | { type: 'set-capacity'; capacity: number }
  /** `index` is static when isStatic, else relative to the insert count (§3.2.5). */
  | { type: 'insert-name-ref'; isStatic: boolean; index: number; value: string }
  | { type: 'insert-literal-name'; name: string; value: string }
  /** `index` is relative (§3.2.5). */
  | { type: 'duplicate'; index: number };

/** Decoder stream instructions, RFC 9204 §4.4.1–§4.4.3. */
export type DecoderInstruction =
  | { type: 'section-ack'; streamId: number }
  | { type: 'stream-cancel'; streamId: number }
  | { type: 'insert-count-increment'; increment: number };

/**
 * Parses one encoder-stream instruction at `c.off`. `maxStringBytes` bounds each string
 * literal's encoded length (see readStringLiteral). Returns null when incomplete.
 * A name reference is checked as soon as its index is read, before its value arrives:
 * a static index outside the table (RFC 9204 §3.1), or a relative index not below
 * `insertCount` (§3.2.5), throws WireError `ERR_QPACK_BAD_INDEX` — no later byte can make
 * it valid. (Eviction is checked when the instruction is applied.)
 */
export function parseEncoderInstruction(
  c: ByteCursor,
  maxStringBytes: number,
  insertCount = Infinity,
): EncoderInstruction | null {
  if (c.off >= c.end) return null;
  const start = c.off;
  const b = c.buf[start];
  if (b & 0x80) {
    // §4.3.2 Insert with Name Reference: 1 T index(6) | H value-len(7) value
    const index = readPrefixedInt(c, 6);
    if (index < 0) return null;
    const isStatic = (b & 0x40) !== 0;
    if (index >= (isStatic ? STATIC_TABLE_LENGTH : insertCount)) {
      throw new WireError('ERR_QPACK_BAD_INDEX', `qpack: ${isStatic ? 'static' : 'relative'} index ${index} out of range`);
    }
    const value = readStringLiteral(c, 7, maxStringBytes);
    if (value === null) return restart(c, start);
    return { type: 'insert-name-ref', isStatic, index, value };
  }
  if (b & 0x40) {
    // §4.3.3 Insert with Literal Name: 01 H name-len(5) name | H value-len(7) value
    const name = readStringLiteral(c, 5, maxStringBytes);
    if (name === null) return null;
    const value = readStringLiteral(c, 7, maxStringBytes);
    if (value === null) return restart(c, start);
    return { type: 'insert-literal-name', name, value };
  }
  if (b & 0x20) {
    // §4.3.1 Set Dynamic Table Capacity: 001 capacity(5)
    const capacity = readPrefixedInt(c, 5);
    return capacity < 0 ? null : { type: 'set-capacity', capacity };
  }
  // §4.3.4 Duplicate: 000 index(5)
  const index = readPrefixedInt(c, 5);
  return index < 0 ? null : { type: 'duplicate', index };
}

function restart(c: ByteCursor, start: number): null {
  c.off = start;
  return null;
}

/** Appends one encoder-stream instruction (minimal integers, Huffman when shorter). */
export function encodeEncoderInstruction(w: Writer, ins: EncoderInstruction): void {
  switch (ins.type) {
    case 'set-capacity':
      writePrefixedInt(w, 0x20, 5, ins.capacity);
      return;
    case 'insert-name-ref':
      writePrefixedInt(w, ins.isStatic ? 0xc0 : 0x80, 6, ins.index);
      writeStringLiteral(w, 0, 7, ins.value);
      return;
    case 'insert-literal-name':
      writeStringLiteral(w, 0x40, 5, ins.name);
      writeStringLiteral(w, 0, 7, ins.value);
      return;
    case 'duplicate':
      writePrefixedInt(w, 0x00, 5, ins.index);
      return;
  }
}

/** Parses one decoder-stream instruction at `c.off`; null when incomplete. */
export function parseDecoderInstruction(c: ByteCursor): DecoderInstruction | null {
  if (c.off >= c.end) return null;
  const b = c.buf[c.off];
  if (b & 0x80) {
    // §4.4.1 Section Acknowledgment: 1 stream-id(7)
    const streamId = readPrefixedInt(c, 7);
    return streamId < 0 ? null : { type: 'section-ack', streamId };
  }
  if (b & 0x40) {
    // §4.4.2 Stream Cancellation: 01 stream-id(6)
    const streamId = readPrefixedInt(c, 6);
    return streamId < 0 ? null : { type: 'stream-cancel', streamId };
  }
  // §4.4.3 Insert Count Increment: 00 increment(6)
  const increment = readPrefixedInt(c, 6);
  return increment < 0 ? null : { type: 'insert-count-increment', increment };
}

/** Appends one decoder-stream instruction. */
export function encodeDecoderInstruction(w: Writer, ins: DecoderInstruction): void {
  switch (ins.type) {
    case 'section-ack':
      writePrefixedInt(w, 0x80, 7, ins.streamId);
      return;
    case 'stream-cancel':
      writePrefixedInt(w, 0x40, 6, ins.streamId);
      return;
    case 'insert-count-increment':
      writePrefixedInt(w, 0x00, 6, ins.increment);
      return;
  }
}
