/**
 * HTTP/3 and QPACK errors with their wire codes (RFC 9114 §8.1, RFC 9204 §6, RFC 9297 §5.2).
 *
 * `H3Error.h3Code` is what goes on the wire (CONNECTION_CLOSE for connection errors,
 * RESET_STREAM / STOP_SENDING for stream errors); `code` is our stable string.
 * `isConnectionError` says which of the two the RFC requires.
 */
import { MasqueError } from '../core/errors.js';

/** RFC 9114 §8.1 */
export const H3_NO_ERROR = 0x100;
export const H3_GENERAL_PROTOCOL_ERROR = 0x101;
export const H3_INTERNAL_ERROR = 0x102;
export const H3_STREAM_CREATION_ERROR = 0x103;
export const H3_CLOSED_CRITICAL_STREAM = 0x104;
export const H3_FRAME_UNEXPECTED = 0x105;
export const H3_FRAME_ERROR = 0x106;
export const H3_EXCESSIVE_LOAD = 0x107;
export const H3_ID_ERROR = 0x108;
export const H3_SETTINGS_ERROR = 0x109;
export const H3_MISSING_SETTINGS = 0x10a;
export const H3_REQUEST_REJECTED = 0x10b;
export const H3_REQUEST_CANCELLED = 0x10c;
export const H3_REQUEST_INCOMPLETE = 0x10d;
export const H3_MESSAGE_ERROR = 0x10e;
export const H3_CONNECT_ERROR = 0x10f;
export const H3_VERSION_FALLBACK = 0x110;
/** RFC 9204 §6 */
export const QPACK_DECOMPRESSION_FAILED = 0x200;
export const QPACK_ENCODER_STREAM_ERROR = 0x201;
export const QPACK_DECODER_STREAM_ERROR = 0x202;
/** RFC 9297 §5.2 */
export const H3_DATAGRAM_ERROR = 0x33;

const NAMES: Record<number, string> = {
  [H3_NO_ERROR]: 'ERR_H3_NO_ERROR',
  [H3_GENERAL_PROTOCOL_ERROR]: 'ERR_H3_GENERAL_PROTOCOL_ERROR',
  [H3_INTERNAL_ERROR]: 'ERR_H3_INTERNAL_ERROR',
  [H3_STREAM_CREATION_ERROR]: 'ERR_H3_STREAM_CREATION_ERROR',
  [H3_CLOSED_CRITICAL_STREAM]: 'ERR_H3_CLOSED_CRITICAL_STREAM',
  [H3_FRAME_UNEXPECTED]: 'ERR_H3_FRAME_UNEXPECTED',
  [H3_FRAME_ERROR]: 'ERR_H3_FRAME_ERROR',
  [H3_EXCESSIVE_LOAD]: 'ERR_H3_EXCESSIVE_LOAD',
  [H3_ID_ERROR]: 'ERR_H3_ID_ERROR',
  [H3_SETTINGS_ERROR]: 'ERR_H3_SETTINGS_ERROR',
  [H3_MISSING_SETTINGS]: 'ERR_H3_MISSING_SETTINGS',
  [H3_REQUEST_REJECTED]: 'ERR_H3_REQUEST_REJECTED',
  [H3_REQUEST_CANCELLED]: 'ERR_H3_REQUEST_CANCELLED',
  [H3_REQUEST_INCOMPLETE]: 'ERR_H3_REQUEST_INCOMPLETE',
  [H3_MESSAGE_ERROR]: 'ERR_H3_MESSAGE_ERROR',
  [H3_CONNECT_ERROR]: 'ERR_H3_CONNECT_ERROR',
  [H3_VERSION_FALLBACK]: 'ERR_H3_VERSION_FALLBACK',
  [QPACK_DECOMPRESSION_FAILED]: 'ERR_QPACK_DECOMPRESSION_FAILED',
  [QPACK_ENCODER_STREAM_ERROR]: 'ERR_QPACK_ENCODER_STREAM_ERROR',
  [QPACK_DECODER_STREAM_ERROR]: 'ERR_QPACK_DECODER_STREAM_ERROR',
  [H3_DATAGRAM_ERROR]: 'ERR_H3_DATAGRAM_ERROR',
};

/** The stable string code for an H3/QPACK wire code. */
export function h3CodeName(h3Code: number): string {
  return NAMES[h3Code] ?? 'ERR_H3_UNKNOWN';
}

export class H3Error extends MasqueError {
  readonly h3Code: number;
  readonly isConnectionError: boolean;

  /**
   * @param h3Code the RFC wire code (one of the constants above)
   * @param isConnectionError true → close the connection with h3Code; false → reset the stream
   */
  constructor(h3Code: number, message: string, isConnectionError = true, options?: { cause?: unknown }) {
    super(h3CodeName(h3Code), message, options);
    this.h3Code = h3Code;
    this.isConnectionError = isConnectionError;
  }
}

export class CapsuleError extends MasqueError {
  /** Wire code the session resets the request stream with (RFC 9297 §3.3). */
  readonly h3Code = H3_MESSAGE_ERROR;

  /** The H3 stream error to abort the request stream with (not a connection error). */
  toH3Error(): H3Error {
    return new H3Error(H3_MESSAGE_ERROR, `h3: ${this.message}`, false, { cause: this });
  }
}

/** Misuse of the datagram helpers by local code (never caused by a peer). ERR_DATAGRAM_*. */
export class DatagramError extends MasqueError {}
