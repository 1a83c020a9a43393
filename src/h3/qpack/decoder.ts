/**
 * QPACK decoder (RFC 9204 §2.2), sans-IO.
 *
 * The caller feeds the peer's encoder stream and each request's encoded field sections,
 * and drains the bytes for our decoder stream. Nothing here does I/O, keeps timers or
 * logs. Not safe for concurrent use; one instance per connection.
 *
 * Errors: H3Error. Connection errors (isConnectionError = true) leave the decoder in an
 * undefined state — close the connection with `h3Code` and drop the instance. The only
 * stream error is an over-size field section (H3_MESSAGE_ERROR, see decodeFieldSection).
 */
import { MasqueError } from '../../core/errors.js';
import { Writer } from '../../wire/writer.js';
import {
  H3Error,
  H3_MESSAGE_ERROR,
  QPACK_DECOMPRESSION_FAILED,
  QPACK_ENCODER_STREAM_ERROR,
} from '../errors.js';
import { DynamicTable, ENTRY_OVERHEAD } from './dynamic-table.js';
import { type SectionPrefix, decodeFieldLines, parseSectionPrefix } from './field-section.js';
import type { ByteCursor } from './integer.js';
import { type EncoderInstruction, encodeDecoderInstruction, parseEncoderInstruction } from './instructions.js';
import { staticEntry } from './static-table.js';
import type { FieldLine } from './types.js';

/** Settings we advertised to the peer (RFC 9114 §7.2.4.1, RFC 9204 §5). */
export interface QpackDecoderOptions {
  /** SETTINGS_QPACK_MAX_TABLE_CAPACITY (bytes); 0 = no dynamic table. */
  maxTableCapacity: number;
  /** SETTINGS_QPACK_BLOCKED_STREAMS; 0 = a section may never block. */
  maxBlockedStreams: number;
  /** SETTINGS_MAX_FIELD_SECTION_SIZE (RFC 9114 §4.2.2 size); default unlimited. */
  maxFieldSectionSize?: number;
}

/**
 * A section that became decodable after feedEncoderStream. `error` is set (and `fields`
 * empty) when the section exceeded maxFieldSectionSize: reset that stream with
 * `error.h3Code` (H3_MESSAGE_ERROR) or answer 431, as for decodeFieldSection.
 */
export interface UnblockedSection {
  streamId: number;
  fields: FieldLine[];
  error?: H3Error;
}

interface PendingSection {
  /** Copy of the field lines after the prefix. */
  body: Uint8Array;
  prefix: SectionPrefix;
}

function checkCount(name: string, v: number): number {
  if (!(Number.isSafeInteger(v) && v >= 0) && v !== Infinity) {
    throw new MasqueError('ERR_QPACK_INVALID_OPTION', `qpack: ${name} must be a non-negative integer, got ${v}`);
  }
  return v;
}

export class QpackDecoder {
  private readonly table: DynamicTable;
  /** floor(maxTableCapacity / 32), for Required Insert Count decoding (§4.5.1.1). */
  private readonly maxEntries: number;
  private readonly maxBlockedStreams: number;
  private readonly maxSectionBytes: number;
  /** Bound on one encoded string on the encoder stream (see constructor). */
  private readonly maxStringBytes: number;
  /** Unparsed tail of the encoder stream (an incomplete instruction), or null. */
  private encoderTail: Uint8Array | null = null;
  /** Blocked sections per stream, in arrival order; map order = block order. */
  private readonly blocked = new Map<number, PendingSection[]>();
  private unblocked: UnblockedSection[] = [];
  /** Section Acknowledgments and Stream Cancellations not yet taken. */
  private out = new Writer(16);
  /** What the encoder knows we received (§2.1.4), as implied by what we sent. */
  private knownReceivedCount = 0;

  constructor(opts: QpackDecoderOptions) {
    const maxCap = checkCount('maxTableCapacity', opts.maxTableCapacity);
    this.table = new DynamicTable(maxCap);
    this.maxEntries = Math.floor(maxCap / ENTRY_OVERHEAD);
    this.maxBlockedStreams = checkCount('maxBlockedStreams', opts.maxBlockedStreams);
    this.maxSectionBytes = checkCount('maxFieldSectionSize', opts.maxFieldSectionSize ?? Infinity);
    // An entry never exceeds the capacity (§3.2.2). A Huffman code is ≤ 30 bits, so an
    // encoded string longer than 4·cap + 8 bytes decodes to more than cap bytes: reject it
    // up front instead of buffering it.
    this.maxStringBytes = 4 * maxCap + 8;
  }

  /** Total inserts received on the encoder stream. */
  get insertCount(): number {
    return this.table.insertCount;
  }

  /**
   * True when the encoder stream ended inside an instruction so far. HTTP/3 never closes
   * the encoder stream (closing it is H3_CLOSED_CRITICAL_STREAM, RFC 9114 §6.2.1), so this
   * only matters to offline tools that feed a finite stream.
   */
  get hasPartialEncoderInstruction(): boolean {
    return this.encoderTail !== null;
  }

  /** Streams that currently hold blocked sections. */
  get blockedStreamCount(): number {
    return this.blocked.size;
  }

  /**
   * Sets the current table capacity without an encoder instruction, emulating the
   * pre-RFC rule that the table started at the maximum. Only for the qifs interop corpus
   * (its encoders skip Set Dynamic Table Capacity); RFC 9204 §3.2.3 peers start at 0.
   * Throws QPACK_ENCODER_STREAM_ERROR above maxTableCapacity.
   */
  presetCapacity(capacity: number): void {
    this.table.setCapacity(capacity);
  }

  /**
   * Consumes encoder-stream bytes (RFC 9204 §4.3). Instructions may be split anywhere
   * across calls; the incomplete tail is copied, `bytes` is not kept. Sections unblocked
   * by new inserts are decoded here and queued for takeUnblocked().
   * Throws H3Error(QPACK_ENCODER_STREAM_ERROR) for a malformed or impossible instruction,
   * or H3Error(QPACK_DECOMPRESSION_FAILED) if an unblocked section is malformed; both
   * are connection errors.
   */
  feedEncoderStream(bytes: Uint8Array): void {
    let buf = bytes;
    if (this.encoderTail !== null) {
      buf = new Uint8Array(this.encoderTail.length + bytes.length);
      buf.set(this.encoderTail);
      buf.set(bytes, this.encoderTail.length);
    }
    const c: ByteCursor = { buf, off: 0, end: buf.length };
    const before = this.table.insertCount;
    try {
      for (;;) {
        const ins = parseEncoderInstruction(c, this.maxStringBytes, this.table.insertCount);
        if (ins === null) break;
        this.apply(ins);
      }
    } catch (e) {
      if (e instanceof H3Error) throw e;
      throw new H3Error(QPACK_ENCODER_STREAM_ERROR, 'qpack: malformed encoder stream instruction', true, { cause: e });
    }
    this.encoderTail = c.off < c.end ? buf.slice(c.off) : null;
    if (this.table.insertCount !== before) this.unblock();
  }

  private apply(ins: EncoderInstruction): void {
    switch (ins.type) {
      case 'set-capacity':
        this.table.setCapacity(ins.capacity);
        return;
      case 'insert-name-ref': {
        let name: string;
        if (ins.isStatic) {
          const e = staticEntry(ins.index);
          if (e === undefined) {
            throw new H3Error(QPACK_ENCODER_STREAM_ERROR, `qpack: static index ${ins.index} out of range`);
          }
          name = e[0];
        } else {
          name = this.table.entryForRelative(ins.index)[0];
        }
        this.table.insert(name, ins.value);
        return;
      }
      case 'insert-literal-name':
        this.table.insert(ins.name, ins.value);
        return;
      case 'duplicate': {
        const [name, value] = this.table.entryForRelative(ins.index);
        this.table.insert(name, value);
        return;
      }
    }
  }

  /**
   * Decodes one complete encoded field section (the payload of a HEADERS frame) for
   * `streamId`. `block` is not kept (blocked sections are copied).
   *
   * Returns the field lines, or null when the section is blocked (RFC 9204 §2.1.2):
   * its Required Insert Count is above the inserts received, or an earlier section of the
   * same stream is still blocked (order is kept). It is then delivered by takeUnblocked().
   *
   * Throws H3Error(QPACK_DECOMPRESSION_FAILED) (connection error) for a malformed section
   * or when blocking would exceed maxBlockedStreams (§2.1.2). Only streams are counted:
   * the caller should stop reading a stream whose section is blocked (HTTP/3 needs the
   * headers first anyway), which bounds the sections queued per stream.
   *
   * Throws H3Error(H3_MESSAGE_ERROR, isConnectionError = false) when the decoded section
   * exceeds maxFieldSectionSize: RFC 9114 §4.2.2 sizes it as Σ(name + value + 32), and
   * §10.5.1 says a peer that ignores the advertised limit risks the message being
   * treated as malformed — a stream error (§4.1.2), not a QPACK failure, since the bytes
   * were valid. A server may answer 431 instead of resetting. The section is still
   * acknowledged first, so the encoder's references are released.
   */
  decodeFieldSection(streamId: number, block: Uint8Array): FieldLine[] | null {
    const c: ByteCursor = { buf: block, off: 0, end: block.length };
    const prefix = parseSectionPrefix(c, this.maxEntries, this.table.insertCount);
    const queue = this.blocked.get(streamId);
    if (queue !== undefined || prefix.requiredInsertCount > this.table.insertCount) {
      const pending: PendingSection = { body: block.slice(c.off), prefix };
      if (queue !== undefined) {
        queue.push(pending);
      } else {
        if (this.blocked.size >= this.maxBlockedStreams) {
          throw new H3Error(
            QPACK_DECOMPRESSION_FAILED,
            `qpack: stream ${streamId} would exceed ${this.maxBlockedStreams} blocked streams`,
          );
        }
        this.blocked.set(streamId, [pending]);
      }
      return null;
    }
    const r = this.finish(streamId, c, prefix);
    if (r.error !== undefined) throw r.error;
    return r.fields;
  }

  /** Decodes lines, queues the Section Acknowledgment (§4.4.1), checks the size limit. */
  private finish(streamId: number, c: ByteCursor, prefix: SectionPrefix): UnblockedSection {
    const r = decodeFieldLines(c, prefix, this.table, this.maxSectionBytes);
    const ric = prefix.requiredInsertCount;
    if (ric > 0) {
      encodeDecoderInstruction(this.out, { type: 'section-ack', streamId });
      if (ric > this.knownReceivedCount) this.knownReceivedCount = ric;
    }
    if (r.isOversize) {
      const error = new H3Error(
        H3_MESSAGE_ERROR,
        `qpack: field section of ${r.sectionBytes} bytes exceeds limit ${this.maxSectionBytes}`,
        false,
      );
      return { streamId, fields: [], error };
    }
    return { streamId, fields: r.fields };
  }

  private unblock(): void {
    for (const [streamId, queue] of this.blocked) {
      while (queue.length > 0 && queue[0].prefix.requiredInsertCount <= this.table.insertCount) {
        const p = queue.shift() as PendingSection;
        const c: ByteCursor = { buf: p.body, off: 0, end: p.body.length };
        this.unblocked.push(this.finish(streamId, c, p.prefix));
      }
      if (queue.length === 0) this.blocked.delete(streamId);
    }
  }

  /**
   * Sections decoded since the last call because the encoder stream unblocked them, in
   * the order they were unblocked (per stream: arrival order). Returns [] when none.
   * The caller owns the returned arrays.
   */
  takeUnblocked(): UnblockedSection[] {
    const u = this.unblocked;
    this.unblocked = [];
    return u;
  }

  /**
   * The stream was reset or its reading abandoned (RFC 9204 §4.4.2): drops its blocked
   * and not-yet-taken unblocked sections and queues a Stream Cancellation, except with
   * maxTableCapacity 0, where §4.4.2 lets us omit it (no dynamic references possible).
   * Call it only for request streams that did not end normally.
   */
  cancelStream(streamId: number): void {
    this.blocked.delete(streamId);
    this.unblocked = this.unblocked.filter((u) => u.streamId !== streamId);
    if (this.table.maxCapacity > 0) encodeDecoderInstruction(this.out, { type: 'stream-cancel', streamId });
  }

  /**
   * Bytes to write on our decoder stream (RFC 9204 §4.4), or null when there is nothing
   * to send. Queued Section Acknowledgments and Stream Cancellations come first, then one
   * Insert Count Increment (§4.4.3) for inserts the encoder cannot yet know we received
   * (acknowledged sections already imply their Required Insert Count, §4.4.1). The
   * returned buffer is the caller's.
   */
  takeDecoderStreamBytes(): Uint8Array | null {
    const inserted = this.table.insertCount;
    if (inserted > this.knownReceivedCount) {
      encodeDecoderInstruction(this.out, { type: 'insert-count-increment', increment: inserted - this.knownReceivedCount });
      this.knownReceivedCount = inserted;
    }
    if (this.out.length === 0) return null;
    const bytes = this.out.finish().slice();
    this.out = new Writer(16);
    return bytes;
  }
}
