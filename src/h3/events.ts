/**
 * What H3Conn.poll() returns (STYLE.md §4: events from a core are a discriminated union).
 *
 * Byte views (`bytes`, `value`, `payload`) are owned by the receiver once emitted: the
 * connection never writes into them again.
 */
import type { FieldLine } from './qpack/types.js';
import type { H3Error } from './errors.js';
import type { H3Settings } from './settings.js';
import type { RequestHead, ResponseHead } from './message.js';

export type H3Event =
  /** The peer's SETTINGS arrived (once). Until then the peer's settings are the defaults. */
  | { type: 'settings'; settings: H3Settings }
  /** Server: a new request (validated, RFC 9114 §4.3.1). `fields` is the raw section. */
  | { type: 'request'; streamId: number; head: RequestHead; fields: FieldLine[] }
  /** Client: an interim (1xx) response (RFC 9114 §4.1). */
  | { type: 'informational'; streamId: number; head: ResponseHead }
  /** Client: the final response head. */
  | { type: 'response'; streamId: number; head: ResponseHead; fields: FieldLine[] }
  /** Body bytes (content of DATA frames) while the capsule protocol is not in use. */
  | { type: 'data'; streamId: number; bytes: Uint8Array }
  /** A capsule (RFC 9297 §3.2), all types including unknown ones; DATAGRAM capsules too. */
  | { type: 'capsule'; streamId: number; capsuleType: number; value: Uint8Array }
  /** An HTTP Datagram (RFC 9297 §2) for a live request stream, Quarter Stream ID removed. */
  | { type: 'datagram'; streamId: number; payload: Uint8Array }
  /** A trailer section (RFC 9114 §4.1). */
  | { type: 'trailers'; streamId: number; fields: FieldLine[] }
  /** The peer finished its side of the stream cleanly (FIN after a complete message). */
  | { type: 'end'; streamId: number }
  /**
   * The stream was aborted. `isLocal`: we aborted it because the peer broke a stream-level
   * rule (then `code` is what we sent) or because of GOAWAY (H3_REQUEST_REJECTED);
   * otherwise the peer sent RESET_STREAM or STOP_SENDING with `code`.
   */
  | { type: 'reset'; streamId: number; code: number; isLocal: boolean }
  /** Both directions are over and the connection forgot the stream (always the last stream event). */
  | { type: 'done'; streamId: number }
  /** Buffered writes on the stream drained below the low-water mark: write more. */
  | { type: 'writable'; streamId: number }
  /** The peer sent GOAWAY (RFC 9114 §5.2). `id` is a stream id (from a server) or push id. */
  | { type: 'goaway'; id: number }
  /**
   * The H3 connection is over. `error` is the connection error we detected (and closed the
   * QUIC connection with), or null for a clean close / transport close.
   */
  | { type: 'closed'; error: H3Error | null };
