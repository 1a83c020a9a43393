/**
 * HTTP/3 Datagram framing (RFC 9297 §2.1) and the Context ID of CONNECT-UDP / CONNECT-IP
 * (RFC 9298 §4–5, RFC 9484 §5–6) — sans-IO.
 *
 * QUIC DATAGRAM payload = `Quarter Stream ID (i) | HTTP Datagram Payload`;
 * HTTP Datagram Payload  = `Context ID (i) | UDP payload or IP packet`.
 * Context ID 0 carries the bare UDP payload (RFC 9298 §4) or a full IP packet (RFC 9484 §6).
 */
import { H3Error, H3_DATAGRAM_ERROR } from './errors.js';
import { readVarintAt, varintLen, varintLenFromFirstByte, writeVarint } from '../wire/varint.js';
import { Writer } from '../wire/writer.js';
import { DatagramError } from './errors.js';

/** RFC 9297 §2.1: largest Quarter Stream ID, 2^60−1 (client bidi stream IDs are < 2^62). */
export const MAX_QUARTER_STREAM_ID = 2 ** 60 - 1;

/** RFC 9298 §4 / RFC 9484 §6: the Context ID of the plain payload. */
export const CONTEXT_ID_PAYLOAD = 0;

/** RFC 9298 §5: largest UDP payload a context-0 datagram may carry (65535 − 8). */
export const MAX_UDP_PAYLOAD_BYTES = 65527;

/**
 * Quarter Stream ID of a client-initiated bidirectional stream: streamId / 4 (RFC 9297 §2.1).
 * Throws DatagramError ERR_DATAGRAM_STREAM_ID when `streamId` is not a client bidi stream.
 */
export function quarterStreamId(streamId: number): number {
  if (!Number.isInteger(streamId) || streamId < 0 || streamId % 4 !== 0 || streamId >= 2 ** 62) {
    throw new DatagramError('ERR_DATAGRAM_STREAM_ID', `not a client bidi stream id: ${streamId}`);
  }
  return streamId / 4;
}

/** Writes the Quarter Stream ID prefix for `streamId` (RFC 9297 §2.1). */
export function encodeDatagramPrefix(w: Writer, streamId: number): void {
  w.varint(quarterStreamId(streamId));
}

/** A received HTTP/3 datagram; `payload` is a view into the input (no copy). */
export interface H3Datagram {
  readonly streamId: number;
  readonly payload: Uint8Array;
}

/**
 * Splits a QUIC DATAGRAM frame payload into stream ID and HTTP Datagram Payload.
 * RFC 9297 §2.1: a payload too short for the Quarter Stream ID, or a value above 2^60−1, is a
 * connection error H3_DATAGRAM_ERROR → throws H3Error (isConnectionError = true).
 * Stream IDs above 2^53 are approximate (JS numbers); no real connection reaches them.
 */
export function parseH3Datagram(buf: Uint8Array): H3Datagram {
  const qsid = readVarintAt(buf, 0);
  if (qsid < 0) throw new H3Error(H3_DATAGRAM_ERROR, 'datagram too short for quarter stream id');
  const n = varintLenFromFirstByte(buf[0]);
  // Exact check on the bytes: in the 8-byte form, 2^60 and above have a bit set in 0x30.
  if (n === 8 && (buf[0] & 0x30) !== 0) {
    throw new H3Error(H3_DATAGRAM_ERROR, 'quarter stream id above 2^60-1');
  }
  return { streamId: qsid * 4, payload: buf.subarray(n) };
}

/** An HTTP Datagram Payload split by Context ID; `payload` is a view (no copy). */
export interface ContextPayload {
  readonly ctxId: number;
  readonly payload: Uint8Array;
}

/**
 * Splits an HTTP Datagram Payload (from a QUIC DATAGRAM or a DATAGRAM capsule) into Context ID
 * and payload. Returns null when it is too short to hold the Context ID: such datagrams are
 * malformed and are dropped and counted, not fatal (RFC 9298 §5; STYLE.md §5).
 */
export function parseContextPayload(buf: Uint8Array): ContextPayload | null {
  const ctxId = readVarintAt(buf, 0);
  if (ctxId < 0) return null;
  return { ctxId, payload: buf.subarray(varintLenFromFirstByte(buf[0])) };
}

/** Writes `Context ID | payload` (copying the payload) — the slow path, for capsules/tests. */
export function encodeContextPayload(w: Writer, ctxId: number, payload: Uint8Array): void {
  w.varint(ctxId).bytes(payload);
}

/**
 * Room for a Context ID 0 payload (RFC 9298 §4, RFC 9484 §6: a UDP payload or an IP packet) in
 * an HTTP Datagram Payload of at most `maxDatagramPayload` bytes (H3Stream.maxDatagramPayloadBytes).
 * null stays null: the datagrams go as DATAGRAM capsules, and the caller applies its own bound.
 */
export function maxContextPayloadBytes(maxDatagramPayload: number | null): number | null {
  return maxDatagramPayload === null ? null : Math.max(0, maxDatagramPayload - varintLen(CONTEXT_ID_PAYLOAD));
}

/** Headroom bytes `writeDatagramHeader` needs in front of a payload. */
export function datagramHeadroom(streamId: number, ctxId = CONTEXT_ID_PAYLOAD): number {
  return varintLen(quarterStreamId(streamId)) + varintLen(ctxId);
}

/**
 * Hot path: writes `Quarter Stream ID | Context ID` into the headroom just before
 * `buf[payloadOff]` (no copy of the payload) and returns the offset where the QUIC DATAGRAM
 * payload starts; send `buf.subarray(start, payloadOff + payloadLen)`. The caller owns `buf`
 * and reserves ≥ `datagramHeadroom()` bytes (at most 16); with less, throws DatagramError
 * ERR_DATAGRAM_HEADROOM. For a UDP payload the caller enforces MAX_UDP_PAYLOAD_BYTES.
 */
export function writeDatagramHeader(
  buf: Uint8Array,
  payloadOff: number,
  streamId: number,
  ctxId = CONTEXT_ID_PAYLOAD,
): number {
  const qsid = quarterStreamId(streamId);
  const qLen = varintLen(qsid);
  const start = payloadOff - qLen - varintLen(ctxId);
  if (start < 0) {
    throw new DatagramError('ERR_DATAGRAM_HEADROOM', `need ${payloadOff - start} bytes of headroom, have ${payloadOff}`);
  }
  writeVarint(buf, start, qsid);
  writeVarint(buf, start + qLen, ctxId);
  return start;
}
