/**
 * H3Stream: the application's handle on one request stream (client or server side).
 *
 * Received things arrive through ONE handler object per stream (`stream.handler`), called
 * from the driver's hooks; there are no per-event closures or emitters, so datagram delivery
 * costs one method call and one payload view. Buffers handed to handlers:
 * - `onDatagram` payloads are only valid during the call (the driver reuses its receive
 *   buffer); copy to keep.
 * - `onData` bytes and `onCapsule` values are the handler's to keep.
 *
 * Writes may be made at any time (inside or outside the hooks); the driver flushes them in
 * this event-loop turn. Write methods never throw for a stream that is already gone: they
 * return false (data dropped) instead.
 */
import type { FieldLine } from './qpack/types.js';
import type { RequestHead, ResponseHead } from './message.js';
import type { H3Conn } from './conn.js';
import type { RawPacketPort } from '../quic/app.js';
import { H3_REQUEST_CANCELLED } from './errors.js';

/** What the application implements to receive on a stream. Every method is optional. */
export interface H3StreamHandler {
  /** Client: the final response head (status ≥ 200). */
  onResponse?(stream: H3Stream, head: ResponseHead): void;
  /** Client: an interim 1xx response. */
  onInformational?(stream: H3Stream, head: ResponseHead): void;
  /** Body bytes (when the Capsule Protocol is not in use). */
  onData?(stream: H3Stream, bytes: Uint8Array): void;
  /** A capsule other than DATAGRAM (RFC 9297 §3.2); unknown types included, to skip. */
  onCapsule?(stream: H3Stream, capsuleType: number, value: Uint8Array): void;
  /**
   * An HTTP Datagram payload (RFC 9297 §2), whether it came as a QUIC DATAGRAM or as a
   * DATAGRAM capsule (§3.5). Valid only during the call.
   */
  onDatagram?(stream: H3Stream, payload: Uint8Array): void;
  onTrailers?(stream: H3Stream, fields: FieldLine[]): void;
  /** The peer finished its side cleanly. */
  onEnd?(stream: H3Stream): void;
  /** Buffered writes drained: `write` may be called again after it returned false. */
  onWritable?(stream: H3Stream): void;
  /**
   * The stream is dead: reset by the peer (`isLocal` false, the peer's code), aborted by us
   * for a protocol violation or GOAWAY (`isLocal` true), or its connection closed (the
   * connection's error code, H3_NO_ERROR for a clean close). Called at most once.
   */
  onReset?(stream: H3Stream, code: number, isLocal: boolean): void;
}

/** Callbacks the driver gives each stream (so the stream can schedule a flush). */
export interface StreamOwner {
  readonly conn: H3Conn;
  wake(): void;
}

export class H3Stream {
  readonly id: number;
  /** Server: the validated request head. Client: the request head we sent. */
  readonly request: RequestHead;
  /** Client: the final response head once received. */
  response: ResponseHead | null = null;
  /** The receiver. Set it before returning from onRequest / right after request(). */
  handler: H3StreamHandler | null = null;
  /** Free slot for the application (e.g. its session object). */
  userData: unknown = undefined;
  /** @internal set once onReset was delivered */
  isDead = false;
  private readonly owner: StreamOwner;

  constructor(owner: StreamOwner, id: number, request: RequestHead) {
    this.owner = owner;
    this.id = id;
    this.request = request;
  }

  /** Packets beside the stream's connection on its path (QUIC-aware forwarding); undefined when its transport offers none. */
  get raw(): RawPacketPort | undefined {
    return this.owner.conn.raw;
  }

  /** Server: sends the response head (1xx interim or final). Throws H3Error for invalid fields. */
  respond(fields: FieldLine[], opts: { endStream?: boolean } = {}): void {
    this.owner.conn.respond(this.id, fields, opts.endStream ?? false);
    this.owner.wake();
  }

  /**
   * Sends body bytes (one DATA frame) and optionally FIN. `bytes` may be reused after the
   * call. Returns false when the caller should pause until onWritable (back-pressure) or
   * the stream is gone. Throws MasqueError ERR_H3_WRITE_BUFFER_FULL past the hard bound.
   */
  write(bytes: Uint8Array, fin = false): boolean {
    const ok = this.owner.conn.sendData(this.id, bytes, fin);
    this.owner.wake();
    return ok;
  }

  /** Ends our side (FIN). */
  end(): void {
    this.write(new Uint8Array(0), true);
  }

  /** Sends trailers and ends our side. */
  writeTrailers(fields: FieldLine[]): void {
    this.owner.conn.sendTrailers(this.id, fields);
    this.owner.wake();
  }

  /** Sends one capsule (RFC 9297 §3.2). Same return contract as write(). */
  writeCapsule(capsuleType: number, value: Uint8Array): boolean {
    const ok = this.owner.conn.sendCapsule(this.id, capsuleType, value);
    this.owner.wake();
    return ok;
  }

  /**
   * Sends an HTTP Datagram: QUIC DATAGRAM with the Quarter Stream ID when both sides
   * negotiated it, else a DATAGRAM capsule on a Capsule-Protocol stream. Returns false if
   * dropped (not negotiated, too large, queue full, stream gone). `payload` may be reused.
   */
  sendDatagram(payload: Uint8Array): boolean {
    const ok = this.owner.conn.sendDatagram(this.id, payload);
    this.owner.wake();
    return ok;
  }

  /**
   * Largest `sendDatagram()` payload one QUIC DATAGRAM carries for this stream now (the
   * Quarter Stream ID prefix, RFC 9297 §2.1, already subtracted); larger payloads are dropped.
   * null when HTTP Datagrams go as DATAGRAM capsules instead (not negotiated, the peer takes
   * no DATAGRAM frames, or the QUIC connection is gone). Changes with the path MTU: re-read it.
   */
  maxDatagramPayloadBytes(): number | null {
    return this.owner.conn.maxDatagramPayloadBytes(this.id);
  }

  /** Aborts both directions (RESET_STREAM + STOP_SENDING) with `code`. No onReset follows. */
  reset(code = H3_REQUEST_CANCELLED): void {
    this.isDead = true;
    this.owner.conn.resetStream(this.id, code);
    this.owner.wake();
  }

  /** Bytes waiting for flow control on this stream. */
  get bufferedBytes(): number {
    return this.owner.conn.bufferedBytes(this.id);
  }
}
