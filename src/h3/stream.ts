/**
 * Incremental per-stream parser with explicit states (the model is quiche's h3 `stream.rs`
 * `State` enum). Sans-IO: bytes go in with `feed()`, items come out of `next()`.
 *
 * One parser per QUIC stream that the peer writes to: request streams (both roles read
 * one) and the peer's unidirectional streams. The parser enforces framing (RFC 9114 §7.1)
 * and which frame types may appear on which stream (§7.2, §6.2.1); the order of HEADERS
 * and DATA within a message (§4.1) is the connection's job, as it needs the status code.
 *
 * Buffers: `feed()` copies its input (the caller may reuse its buffer). Views in returned
 * items stay valid for as long as the caller keeps them (the parser never writes into a
 * buffer it has handed out a view of).
 */
import { readVarintAt, varintLenFromFirstByte } from '../wire/varint.js';
import {
  H3Error, H3_EXCESSIVE_LOAD, H3_FRAME_ERROR, H3_FRAME_UNEXPECTED, H3_ID_ERROR, H3_MISSING_SETTINGS,
} from './errors.js';
import {
  H3_FRAME_CANCEL_PUSH, H3_FRAME_DATA, H3_FRAME_GOAWAY, H3_FRAME_HEADERS, H3_FRAME_MAX_PUSH_ID,
  H3_FRAME_PUSH_PROMISE, H3_FRAME_SETTINGS, H3_STREAM_CONTROL, H3_STREAM_QPACK_DECODER,
  H3_STREAM_QPACK_ENCODER, type H3Frame, isHttp2OnlyFrameType, parseFramePayload,
} from './frame.js';

/** Parser states (quiche stream.rs `State`). */
export type ParseState =
  | 'streamType' // reading the unidirectional stream type varint
  | 'frameType' // reading a frame's type varint
  | 'frameLength' // reading a frame's length varint
  | 'framePayload' // buffering a whole control/HEADERS frame payload
  | 'data' // streaming a DATA payload through
  | 'skip' // discarding an unknown frame's payload (RFC 9114 §9)
  | 'qpack' // passing QPACK encoder/decoder instructions through (RFC 9204 §4.2)
  | 'drain' // ignoring an unknown/unwanted unidirectional stream (RFC 9114 §6.2)
  | 'finished';

/** What a parser yields. */
export type StreamItem =
  | { kind: 'streamType'; streamType: number }
  | { kind: 'frame'; frame: H3Frame }
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'qpack'; bytes: Uint8Array };

export interface StreamParserOptions {
  /** 'request' for bidirectional request streams, 'uni' for the peer's unidirectional ones. */
  kind: 'request' | 'uni';
  /** True when WE are the server (decides PUSH_PROMISE/MAX_PUSH_ID handling). */
  isServer: boolean;
  /** Largest HEADERS payload we buffer; larger → stream error H3_EXCESSIVE_LOAD. */
  maxHeadersBytes: number;
  /** Largest control-stream frame we buffer; larger → connection error H3_EXCESSIVE_LOAD. */
  maxControlFrameBytes?: number;
}

const EMPTY = new Uint8Array(0);

/** Incremental parser for one stream. Not shared between streams. */
export class StreamParser {
  state: ParseState;
  /** The unidirectional stream type once known (-1 before, and for request streams). */
  streamType = -1;
  private buf: Uint8Array = EMPTY;
  private off = 0;
  private frameType = 0;
  private remaining = 0;
  private hasSettings = false;
  private readonly opts: StreamParserOptions;

  constructor(opts: StreamParserOptions) {
    this.opts = opts;
    this.state = opts.kind === 'uni' ? 'streamType' : 'frameType';
  }

  /** True when this is the peer's control stream (after its type was read). */
  get isControl(): boolean {
    return this.streamType === H3_STREAM_CONTROL;
  }

  /** Appends received bytes (copied). */
  feed(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.state === 'finished' || this.state === 'drain') return;
    const left = this.buf.length - this.off;
    const next = new Uint8Array(left + chunk.length);
    if (left > 0) next.set(this.buf.subarray(this.off));
    next.set(chunk, left);
    this.buf = next;
    this.off = 0;
  }

  /** Stops parsing; buffered and later bytes are discarded. */
  drain(): void {
    this.state = 'drain';
    this.buf = EMPTY;
    this.off = 0;
  }

  /**
   * The next item, or null when more bytes are needed. Throws H3Error for framing errors;
   * after a throw the parser must not be used again.
   */
  next(): StreamItem | null {
    for (;;) {
      const avail = this.buf.length - this.off;
      switch (this.state) {
        case 'streamType': {
          const t = this.readVarint();
          if (t < 0) return null;
          this.streamType = t;
          if (t === H3_STREAM_CONTROL) this.state = 'frameType';
          else if (t === H3_STREAM_QPACK_ENCODER || t === H3_STREAM_QPACK_DECODER) this.state = 'qpack';
          else this.state = 'drain';
          return { kind: 'streamType', streamType: t };
        }
        case 'frameType': {
          const t = this.readVarint();
          if (t < 0) return null;
          this.frameType = t;
          this.state = 'frameLength';
          break;
        }
        case 'frameLength': {
          const len = this.readVarint();
          if (len < 0) return null;
          this.remaining = len;
          this.state = this.onFrameHeader(this.frameType, len);
          break;
        }
        case 'framePayload': {
          if (avail < this.remaining) return null;
          const payload = this.buf.subarray(this.off, this.off + this.remaining);
          this.off += this.remaining;
          this.state = 'frameType';
          return { kind: 'frame', frame: parseFramePayload(this.frameType, payload) };
        }
        case 'data': {
          if (this.remaining === 0) { this.state = 'frameType'; break; }
          if (avail === 0) return null;
          const n = Math.min(avail, this.remaining);
          const bytes = this.buf.subarray(this.off, this.off + n);
          this.off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'frameType';
          return { kind: 'data', bytes };
        }
        case 'skip': {
          const n = Math.min(avail, this.remaining);
          this.off += n;
          this.remaining -= n;
          if (this.remaining > 0) return null;
          this.state = 'frameType';
          break;
        }
        case 'qpack': {
          if (avail === 0) return null;
          const bytes = this.buf.subarray(this.off);
          this.off = this.buf.length;
          return { kind: 'qpack', bytes };
        }
        case 'drain':
          this.buf = EMPTY;
          this.off = 0;
          return null;
        case 'finished':
          return null;
      }
    }
  }

  /**
   * The peer ended the stream (FIN) and every item was taken with next(). Throws H3Error
   * H3_FRAME_ERROR if a frame was cut (RFC 9114 §7.1). The caller decides what a FIN means
   * for the stream kind (e.g. a closed control stream is H3_CLOSED_CRITICAL_STREAM).
   */
  finish(): void {
    const midFrame = this.state === 'frameLength' || this.state === 'framePayload'
      || ((this.state === 'data' || this.state === 'skip') && this.remaining > 0)
      || (this.state === 'frameType' && this.buf.length > this.off);
    if (midFrame) throw new H3Error(H3_FRAME_ERROR, 'h3: stream ended inside a frame');
    this.state = 'finished';
  }

  /** Reads one varint or returns -1 if incomplete. */
  private readVarint(): number {
    if (this.off >= this.buf.length) return -1;
    const v = readVarintAt(this.buf, this.off);
    if (v < 0) return -1;
    this.off += varintLenFromFirstByte(this.buf[this.off]);
    return v;
  }

  /** Placement rules at a frame header; returns the state that consumes the payload. */
  private onFrameHeader(t: number, len: number): ParseState {
    if (isHttp2OnlyFrameType(t)) throw new H3Error(H3_FRAME_UNEXPECTED, `h3: HTTP/2 frame type 0x${t.toString(16)}`);
    if (this.opts.kind === 'request') return this.onRequestFrame(t, len);
    return this.onControlFrame(t, len);
  }

  /** RFC 9114 §7.2: frames allowed on request streams. */
  private onRequestFrame(t: number, len: number): ParseState {
    switch (t) {
      case H3_FRAME_DATA:
        return 'data';
      case H3_FRAME_HEADERS:
        if (len > this.opts.maxHeadersBytes) {
          throw new H3Error(H3_EXCESSIVE_LOAD, `h3: HEADERS of ${len} bytes exceeds our limit`, false);
        }
        return 'framePayload';
      case H3_FRAME_PUSH_PROMISE:
        // §7.2.5: a server never accepts it; a client that sent no MAX_PUSH_ID sees an ID error.
        if (this.opts.isServer) throw new H3Error(H3_FRAME_UNEXPECTED, 'h3: PUSH_PROMISE from a client');
        throw new H3Error(H3_ID_ERROR, 'h3: PUSH_PROMISE but push was never enabled (no MAX_PUSH_ID)');
      case H3_FRAME_SETTINGS:
      case H3_FRAME_GOAWAY:
      case H3_FRAME_CANCEL_PUSH:
      case H3_FRAME_MAX_PUSH_ID:
        throw new H3Error(H3_FRAME_UNEXPECTED, `h3: control frame 0x${t.toString(16)} on a request stream`);
      default:
        return 'skip'; // §9: unknown and grease frame types are ignored
    }
  }

  /** RFC 9114 §6.2.1, §7.2: frames on the control stream; SETTINGS first and only once. */
  private onControlFrame(t: number, len: number): ParseState {
    if (!this.hasSettings && t !== H3_FRAME_SETTINGS) {
      throw new H3Error(H3_MISSING_SETTINGS, 'h3: first control frame is not SETTINGS');
    }
    switch (t) {
      case H3_FRAME_SETTINGS:
        if (this.hasSettings) throw new H3Error(H3_FRAME_UNEXPECTED, 'h3: second SETTINGS frame');
        this.hasSettings = true;
        break;
      case H3_FRAME_DATA:
      case H3_FRAME_HEADERS:
      case H3_FRAME_PUSH_PROMISE:
        throw new H3Error(H3_FRAME_UNEXPECTED, `h3: frame 0x${t.toString(16)} on the control stream`);
      case H3_FRAME_MAX_PUSH_ID:
        // §7.2.7: only clients send MAX_PUSH_ID.
        if (!this.opts.isServer) throw new H3Error(H3_FRAME_UNEXPECTED, 'h3: MAX_PUSH_ID from a server');
        break;
      case H3_FRAME_GOAWAY:
      case H3_FRAME_CANCEL_PUSH:
        break;
      default:
        return 'skip';
    }
    const max = this.opts.maxControlFrameBytes ?? 16384;
    if (len > max) throw new H3Error(H3_EXCESSIVE_LOAD, `h3: control frame of ${len} bytes exceeds our limit`);
    return 'framePayload';
  }
}
