/**
 * HTTP/3 frame and stream-type codecs with the RFC constants (RFC 9114 §6.2, §7.2, §11.2).
 *
 * Pure and sans-IO. `parseFramePayload` decodes the payload of one complete, non-DATA frame
 * (the incremental framing itself lives in stream.ts); `encode*` append to a Writer.
 * Views returned by the parsers point into the input buffer (no copy).
 */
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { varintLen } from '../wire/varint.js';
import { H3Error, H3_FRAME_ERROR } from './errors.js';
import { type SettingsEntry, parseSettingsPayload, encodeSettingsPayload } from './settings.js';

/** Frame types, RFC 9114 §7.2 / §11.2.1. */
export const H3_FRAME_DATA = 0x00;
export const H3_FRAME_HEADERS = 0x01;
export const H3_FRAME_CANCEL_PUSH = 0x03;
export const H3_FRAME_SETTINGS = 0x04;
export const H3_FRAME_PUSH_PROMISE = 0x05;
export const H3_FRAME_GOAWAY = 0x07;
export const H3_FRAME_MAX_PUSH_ID = 0x0d;

/** Unidirectional stream types, RFC 9114 §6.2 and RFC 9204 §4.2. */
export const H3_STREAM_CONTROL = 0x00;
export const H3_STREAM_PUSH = 0x01;
export const H3_STREAM_QPACK_ENCODER = 0x02;
export const H3_STREAM_QPACK_DECODER = 0x03;

/**
 * HTTP/2 frame types with no HTTP/3 counterpart (PRIORITY, PING, WINDOW_UPDATE, CONTINUATION):
 * receiving one is a connection error H3_FRAME_UNEXPECTED (RFC 9114 §7.2.8, §11.2.1).
 */
export function isHttp2OnlyFrameType(t: number): boolean {
  return t === 0x02 || t === 0x06 || t === 0x08 || t === 0x09;
}

/** Reserved ("grease") codepoints 0x1f·N + 0x21 (RFC 9114 §7.2.8, §6.2.3, §7.2.4.1). */
export function isGreaseCodepoint(v: number): boolean {
  return v >= 0x21 && Number.isSafeInteger(v) && (v - 0x21) % 0x1f === 0;
}

/** A grease codepoint for N (0 ≤ n < 2^32), for sending. */
export function greaseCodepoint(n: number): number {
  return 0x1f * n + 0x21;
}

/** A decoded HTTP/3 frame. DATA payloads are streamed by stream.ts and never appear here. */
export type H3Frame =
  | { type: 'headers'; block: Uint8Array }
  | { type: 'settings'; settings: SettingsEntry[] }
  | { type: 'goaway'; id: number }
  | { type: 'cancel_push'; pushId: number }
  | { type: 'max_push_id'; pushId: number }
  | { type: 'push_promise'; pushId: number; block: Uint8Array }
  | { type: 'unknown'; frameType: number; payload: Uint8Array };

/** The wire type of a frame (unknown frames carry their own). */
export function frameTypeOf(f: H3Frame | { type: 'data' }): number {
  switch (f.type) {
    case 'data': return H3_FRAME_DATA;
    case 'headers': return H3_FRAME_HEADERS;
    case 'settings': return H3_FRAME_SETTINGS;
    case 'goaway': return H3_FRAME_GOAWAY;
    case 'cancel_push': return H3_FRAME_CANCEL_PUSH;
    case 'max_push_id': return H3_FRAME_MAX_PUSH_ID;
    case 'push_promise': return H3_FRAME_PUSH_PROMISE;
    case 'unknown': return f.frameType;
  }
}

/** Parses one varint that must fill the payload exactly (RFC 9114 §7.1: else H3_FRAME_ERROR). */
function soleVarint(payload: Uint8Array, what: string): number {
  const r = new Reader(payload);
  let v: number;
  try {
    v = r.varint();
  } catch (e) {
    throw new H3Error(H3_FRAME_ERROR, `h3: truncated ${what}`, true, { cause: e });
  }
  if (r.remaining !== 0) throw new H3Error(H3_FRAME_ERROR, `h3: ${what} has trailing bytes`);
  return v;
}

/**
 * Decodes the payload of a complete frame of type `frameType` (not DATA).
 * Throws H3Error H3_FRAME_ERROR for a payload that does not match its type's layout
 * (RFC 9114 §7.1) and H3_SETTINGS_ERROR for bad SETTINGS (§7.2.4). Frame-type placement
 * rules (which stream, which order) are checked by the caller.
 */
export function parseFramePayload(frameType: number, payload: Uint8Array): H3Frame {
  switch (frameType) {
    case H3_FRAME_HEADERS:
      return { type: 'headers', block: payload };
    case H3_FRAME_SETTINGS:
      return { type: 'settings', settings: parseSettingsPayload(payload) };
    case H3_FRAME_GOAWAY:
      return { type: 'goaway', id: soleVarint(payload, 'GOAWAY') };
    case H3_FRAME_CANCEL_PUSH:
      return { type: 'cancel_push', pushId: soleVarint(payload, 'CANCEL_PUSH') };
    case H3_FRAME_MAX_PUSH_ID:
      return { type: 'max_push_id', pushId: soleVarint(payload, 'MAX_PUSH_ID') };
    case H3_FRAME_PUSH_PROMISE: {
      const r = new Reader(payload);
      let pushId: number;
      try {
        pushId = r.varint();
      } catch (e) {
        throw new H3Error(H3_FRAME_ERROR, 'h3: truncated PUSH_PROMISE', true, { cause: e });
      }
      return { type: 'push_promise', pushId, block: r.rest() };
    }
    default:
      return { type: 'unknown', frameType, payload };
  }
}

/** Appends a frame header (Type, Length) (RFC 9114 §7.1). */
export function encodeFrameHeader(w: Writer, frameType: number, payloadLen: number): void {
  w.varint(frameType).varint(payloadLen);
}

/** Bytes of a frame header for a payload of `payloadLen` bytes. */
export function frameHeaderLen(frameType: number, payloadLen: number): number {
  return varintLen(frameType) + varintLen(payloadLen);
}

/** Appends a DATA frame carrying `payload` (RFC 9114 §7.2.1). */
export function encodeDataFrame(w: Writer, payload: Uint8Array): void {
  encodeFrameHeader(w, H3_FRAME_DATA, payload.length);
  w.bytes(payload);
}

/** Appends one complete frame. The inverse of framing + parseFramePayload. */
export function encodeFrame(w: Writer, f: H3Frame): void {
  switch (f.type) {
    case 'headers':
      encodeFrameHeader(w, H3_FRAME_HEADERS, f.block.length);
      w.bytes(f.block);
      return;
    case 'settings': {
      const body = new Writer();
      encodeSettingsPayload(body, f.settings);
      encodeFrameHeader(w, H3_FRAME_SETTINGS, body.length);
      w.bytes(body.finish());
      return;
    }
    case 'goaway':
    case 'cancel_push':
    case 'max_push_id': {
      const v = f.type === 'goaway' ? f.id : f.pushId;
      encodeFrameHeader(w, frameTypeOf(f), varintLen(v));
      w.varint(v);
      return;
    }
    case 'push_promise':
      encodeFrameHeader(w, H3_FRAME_PUSH_PROMISE, varintLen(f.pushId) + f.block.length);
      w.varint(f.pushId).bytes(f.block);
      return;
    case 'unknown':
      encodeFrameHeader(w, f.frameType, f.payload.length);
      w.bytes(f.payload);
      return;
  }
}
