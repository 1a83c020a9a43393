/**
 * QPACK encoder (RFC 9204 §2.1), static-table only, sans-IO.
 *
 * It never inserts into the dynamic table, so every section has Required Insert Count 0,
 * never blocks the peer, needs no encoder-stream output and keeps no per-stream state
 * (RFC 9204 §2.1.2 and §3.2.3 allow this: the peer's table capacity stays 0). The cost
 * is compression: repeated non-static fields are re-sent as literals (Huffman-coded).
 *
 * Not safe for concurrent use; one instance per connection.
 */
import { Writer } from '../../wire/writer.js';
import { H3Error, QPACK_DECODER_STREAM_ERROR } from '../errors.js';
import type { ByteCursor } from './integer.js';
import { writePrefixedInt } from './integer.js';
import { type DecoderInstruction, parseDecoderInstruction } from './instructions.js';
import { findStatic } from './static-table.js';
import { writeStringLiteral } from './string.js';
import type { FieldLine } from './types.js';

/** Decoder-stream bytes beyond this without a complete instruction are an error. */
const MAX_DECODER_TAIL_BYTES = 16;

export class QpackEncoder {
  private decoderTail: Uint8Array | null = null;

  /**
   * Encodes one field section (RFC 9204 §4.5) for a HEADERS frame payload. For each line:
   * an exact static match → Indexed Field Line (§4.5.2); a static name match → Literal
   * with Name Reference (§4.5.4); otherwise Literal with Literal Name (§4.5.6). Strings
   * use Huffman when it is shorter. The N (never-index) bit is never set: nothing is ever
   * indexed here, but an intermediary re-encoding our output may index sensitive values.
   *
   * Names and values are latin1 strings (types.ts); char codes above 0xff are truncated
   * to their low byte. The encoder does not validate HTTP semantics (lower-case names,
   * pseudo-header order): that is the HTTP/3 layer's job. Returns a new buffer.
   */
  encode(fields: FieldLine[]): Uint8Array {
    const w = new Writer(64);
    // §4.5.1: Required Insert Count 0 and Base 0 (sign 0, delta 0).
    w.u8(0x00).u8(0x00);
    for (const [name, value] of fields) {
      const m = findStatic(name, value);
      if (m !== null && m.isExact) {
        writePrefixedInt(w, 0xc0, 6, m.index); // 1 T=1 index(6)
      } else if (m !== null) {
        writePrefixedInt(w, 0x50, 4, m.index); // 01 N=0 T=1 index(4)
        writeStringLiteral(w, 0x00, 7, value);
      } else {
        writeStringLiteral(w, 0x20, 3, name); // 001 N=0 H len(3)
        writeStringLiteral(w, 0x00, 7, value);
      }
    }
    return w.finish().slice();
  }

  /**
   * Consumes bytes from the peer's decoder stream (RFC 9204 §4.4), split anywhere
   * across calls. Since we never reference the dynamic table:
   * - Section Acknowledgment is always for a section we never sent with a non-zero
   *   Required Insert Count → QPACK_DECODER_STREAM_ERROR (§4.4.1);
   * - Insert Count Increment of 0 is an error (§4.4.3), and any other increment exceeds
   *   what we inserted (0) → QPACK_DECODER_STREAM_ERROR (§4.4.3);
   * - Stream Cancellation is accepted for any stream (a decoder sends it on every reset,
   *   §4.4.2) and ignored.
   * Malformed input (integer overflow) → QPACK_DECODER_STREAM_ERROR. All are connection
   * errors. `bytes` is not kept.
   */
  feedDecoderStream(bytes: Uint8Array): void {
    let buf = bytes;
    if (this.decoderTail !== null) {
      buf = new Uint8Array(this.decoderTail.length + bytes.length);
      buf.set(this.decoderTail);
      buf.set(bytes, this.decoderTail.length);
    }
    const c: ByteCursor = { buf, off: 0, end: buf.length };
    try {
      for (;;) {
        const ins = parseDecoderInstruction(c);
        if (ins === null) break;
        this.apply(ins);
      }
    } catch (e) {
      if (e instanceof H3Error) throw e;
      throw new H3Error(QPACK_DECODER_STREAM_ERROR, 'qpack: malformed decoder stream instruction', true, { cause: e });
    }
    // Integers are capped at QPACK_INT_MAX_CONT_BYTES + 1 bytes, so a longer tail is
    // impossible; the check only guards against a future parser change.
    if (c.end - c.off > MAX_DECODER_TAIL_BYTES) {
      throw new H3Error(QPACK_DECODER_STREAM_ERROR, 'qpack: decoder stream instruction too long');
    }
    this.decoderTail = c.off < c.end ? buf.slice(c.off) : null;
  }

  private apply(ins: DecoderInstruction): void {
    switch (ins.type) {
      case 'section-ack':
        throw new H3Error(
          QPACK_DECODER_STREAM_ERROR,
          `qpack: Section Acknowledgment for stream ${ins.streamId}, which has no outstanding dynamic references`,
        );
      case 'insert-count-increment':
        throw new H3Error(
          QPACK_DECODER_STREAM_ERROR,
          ins.increment === 0
            ? 'qpack: Insert Count Increment of 0'
            : `qpack: Insert Count Increment ${ins.increment} exceeds the 0 entries we inserted`,
        );
      case 'stream-cancel':
        return;
    }
  }
}
