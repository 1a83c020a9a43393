/**
 * Wire pieces of the Noise IK authentication (docs/protocol/auth.md): constants, the
 * TAI64N timestamp, the two handshake payloads and the base64url header encoding.
 *
 * Pure codecs. Decoders throw AuthError ERR_AUTH_MALFORMED / ERR_AUTH_VERSION and nothing
 * else; encoders trust their (typed) input.
 */
import { AuthError } from './errors.js';

/** Request header carrying the initiator's message (`-> e, es, s, ss`). */
export const NOISE_REQUEST_HEADER = 'masque-noise';
/** Response header carrying the relay's message (`<- e, ee, se`). */
export const NOISE_RESPONSE_HEADER = 'masque-noise';
/** Version byte that opens both payloads. */
export const NOISE_AUTH_VERSION = 1;
/**
 * Noise prologue (Noise spec §6): both sides mix it into the transcript, so a peer that
 * speaks another protocol or version fails to decrypt instead of misreading our payloads.
 */
export const NOISE_PROLOGUE = new TextEncoder().encode('masque-relay noise-auth v1');
/** Noise protocol name noise-handshake implements (for the docs and tests). */
export const NOISE_PROTOCOL_NAME = 'Noise_IK_25519_ChaChaPoly_BLAKE2b';

export const TIMESTAMP_BYTES = 12;
export const CERT_HASH_BYTES = 32;
/** Initiator payload: version(1) ‖ timestamp(12) ‖ tlsCertSha256(32). */
export const CLIENT_PAYLOAD_BYTES = 1 + TIMESTAMP_BYTES + CERT_HASH_BYTES;
/** Responder payload: version(1) ‖ tlsCertSha256(32). */
export const RELAY_PAYLOAD_BYTES = 1 + CERT_HASH_BYTES;
const TAG = 16;
/** Message 1: e(32) ‖ enc(s)(32+16) ‖ enc(payload)(45+16) = 141 bytes. */
export const CLIENT_MESSAGE_BYTES = 32 + 32 + TAG + CLIENT_PAYLOAD_BYTES + TAG;
/** Message 2: e(32) ‖ enc(payload)(33+16) = 81 bytes. */
export const RELAY_MESSAGE_BYTES = 32 + RELAY_PAYLOAD_BYTES + TAG;

// TAI64 labels count seconds from 2^62; like wireguard-go (tai64n.go) we add the 10 s
// TAI−UTC offset of 1970 and ignore later leap seconds: only ordering matters here.
const TAI64_BASE = (1n << 62n) + 10n;

/** A 12-byte TAI64N timestamp: seconds label (8, big-endian) ‖ nanoseconds (4, big-endian). */
export type Timestamp = Uint8Array;

/** TAI64N timestamp of a Unix time in ms (nanoseconds = the ms remainder × 10^6 + `extraNs`). */
export function encodeTimestamp(unixMs: number, extraNs = 0): Timestamp {
  const ms = Math.floor(unixMs);
  const secs = Math.floor(ms / 1000);
  const out = new Uint8Array(TIMESTAMP_BYTES);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, TAI64_BASE + BigInt(secs));
  view.setUint32(8, (ms - secs * 1000) * 1_000_000 + extraNs);
  return out;
}

/** Unix time in ms of a timestamp. Throws ERR_AUTH_MALFORMED if nanoseconds ≥ 10^9. */
export function timestampToUnixMs(ts: Timestamp): number {
  if (ts.byteLength !== TIMESTAMP_BYTES) throw new AuthError('ERR_AUTH_MALFORMED', 'noise-auth: timestamp length');
  const view = new DataView(ts.buffer, ts.byteOffset, ts.byteLength);
  const nanos = view.getUint32(8);
  if (nanos >= 1_000_000_000) {
    throw new AuthError('ERR_AUTH_MALFORMED', 'noise-auth: invalid timestamp');
  }
  const secs = view.getBigUint64(0) - TAI64_BASE;
  return Number(secs) * 1000 + Math.floor(nanos / 1_000_000);
}

/** Byte-wise order of two timestamps (big-endian fields make this chronological). */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return Buffer.compare(a, b);
}

/**
 * Makes a client's timestamps strictly increasing even when two hellos are built in the
 * same millisecond or the wall clock steps back a little: the relay refuses any timestamp
 * not newer than the last one it accepted from this key (WireGuard's rule). One instance
 * per client static key; not shared between processes.
 */
export class MonotonicTimestamper {
  private last: Timestamp | null = null;

  /** The timestamp for `nowMs`, bumped 1 ns past the previous one if needed. */
  next(nowMs: number): Timestamp {
    let ts = encodeTimestamp(nowMs);
    if (this.last !== null && compareTimestamps(ts, this.last) <= 0) ts = increment(this.last);
    this.last = ts;
    return ts;
  }
}

function increment(ts: Timestamp): Timestamp {
  const out = Uint8Array.from(ts);
  const view = new DataView(out.buffer);
  const nanos = view.getUint32(8) + 1;
  if (nanos < 1_000_000_000) view.setUint32(8, nanos);
  else {
    view.setUint32(8, 0);
    view.setBigUint64(0, view.getBigUint64(0) + 1n);
  }
  return out;
}

export interface ClientPayload {
  version: number;
  timestamp: Timestamp;
  tlsCertSha256: Uint8Array;
}

export function encodeClientPayload(timestamp: Timestamp, tlsCertSha256: Uint8Array): Uint8Array {
  const out = new Uint8Array(CLIENT_PAYLOAD_BYTES);
  out[0] = NOISE_AUTH_VERSION;
  out.set(timestamp, 1);
  out.set(tlsCertSha256, 1 + TIMESTAMP_BYTES);
  return out;
}

/** Parses the decrypted initiator payload. Throws ERR_AUTH_VERSION / ERR_AUTH_MALFORMED. */
export function parseClientPayload(buf: Uint8Array): ClientPayload {
  checkVersion(buf);
  if (buf.byteLength !== CLIENT_PAYLOAD_BYTES) {
    throw new AuthError('ERR_AUTH_MALFORMED', `noise-auth: client payload is ${buf.byteLength} bytes, expected ${CLIENT_PAYLOAD_BYTES}`);
  }
  const timestamp = buf.slice(1, 1 + TIMESTAMP_BYTES);
  timestampToUnixMs(timestamp); // validates the nanoseconds field
  return { version: buf[0]!, timestamp, tlsCertSha256: buf.slice(1 + TIMESTAMP_BYTES) };
}

export function encodeRelayPayload(tlsCertSha256: Uint8Array): Uint8Array {
  const out = new Uint8Array(RELAY_PAYLOAD_BYTES);
  out[0] = NOISE_AUTH_VERSION;
  out.set(tlsCertSha256, 1);
  return out;
}

/** Parses the decrypted responder payload; returns the echoed certificate hash. */
export function parseRelayPayload(buf: Uint8Array): Uint8Array {
  checkVersion(buf);
  if (buf.byteLength !== RELAY_PAYLOAD_BYTES) {
    throw new AuthError('ERR_AUTH_MALFORMED', `noise-auth: relay payload is ${buf.byteLength} bytes, expected ${RELAY_PAYLOAD_BYTES}`);
  }
  return buf.slice(1);
}

function checkVersion(buf: Uint8Array): void {
  if (buf.byteLength < 1) throw new AuthError('ERR_AUTH_MALFORMED', 'noise-auth: empty payload');
  if (buf[0] !== NOISE_AUTH_VERSION) {
    throw new AuthError('ERR_AUTH_VERSION', `noise-auth: unsupported version ${buf[0]}`);
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Header value of a handshake message: unpadded base64url (RFC 4648 §5). */
export function encodeHeaderValue(msg: Uint8Array): string {
  return Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength).toString('base64url');
}

/**
 * Decodes a header value that must hold exactly `expectedBytes` bytes. The length is
 * checked on the string first so an oversized value costs nothing to refuse; only the
 * canonical unpadded spelling is accepted. Throws ERR_AUTH_MALFORMED.
 */
export function decodeHeaderValue(value: string, expectedBytes: number, what: string): Uint8Array {
  const expectedChars = Math.ceil((expectedBytes * 4) / 3);
  if (typeof value !== 'string' || value.length !== expectedChars || !BASE64URL.test(value)) {
    throw new AuthError('ERR_AUTH_MALFORMED', `noise-auth: ${what} must be ${expectedChars} base64url characters`);
  }
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.byteLength !== expectedBytes || bytes.toString('base64url') !== value) {
    throw new AuthError('ERR_AUTH_MALFORMED', `noise-auth: ${what} is not canonical base64url`);
  }
  return new Uint8Array(bytes);
}
