/**
 * The one extension point over a QUIC connection (tokio-quiche's ApplicationOverQuic).
 *
 * The endpoint owns the socket and one driver per connection. The driver calls the app's
 * hooks in this order every event-loop turn in which something happened:
 *
 *   recv all packets of the batch → `onEstablished` (once) → `processReads` (once per
 *   batch, if any stream became readable or any datagram arrived) → `processWrites` →
 *   send until quiche says Done → re-arm the timer.
 *
 * Writes that happen outside the hooks (a TUN read, a timer of the app) go through the
 * same `QuicConnHandle` methods and then call `handle.wake()`, which schedules one flush in
 * this turn (setImmediate; never one flush per packet: FACTS.md).
 *
 * `onClosed` is called exactly once, after which the handle rejects every call with
 * QuicError `ERR_QUIC_CLOSED`.
 */
import type { HostPort } from './path.js';

export interface ConnStats {
  /** Smoothed RTT in whole ms (from the active path; the binding's resolution). */
  rttMs: number;
  /** Congestion window in bytes. */
  cwndBytes: number;
  sentPackets: number;
  recvPackets: number;
  lostPackets: number;
  sentBytes: number;
  recvBytes: number;
  /** Outgoing DATAGRAM frames refused because quiche's send queue was full. */
  dgramsDroppedSendQueueFull: number;
  /** DATAGRAM frames received and handed to the app. */
  dgramsRecv: number;
  dgramsSent: number;
}

/** How the connection ended. `isApp` = application close (e.g. an H3 error code). */
export interface CloseInfo {
  isLocal: boolean;
  isApp: boolean;
  code: number;
  reason: string;
  /** True when the connection ended by idle timeout, not by a CONNECTION_CLOSE. */
  isTimeout: boolean;
}

/** What the application may do with its connection. Not safe across connections. */
export interface QuicConnHandle {
  /** A short, log-safe id (hex of our first source CID). */
  readonly traceId: string;
  readonly isServer: boolean;
  readonly peer: HostPort;
  /** The negotiated ALPN (empty before the handshake completes). */
  readonly alpn: string;
  readonly isEstablished: boolean;

  /** Stream ids with data (or FIN, or a reset) to read now. */
  readableStreams(): Iterable<number>;
  /**
   * Reads into `buf`. Returns `[bytesRead, fin]`, or `null` when nothing is there now.
   * Throws QuicError `ERR_QUIC_STREAM_RESET` (with `.appCode`) if the peer reset it.
   */
  streamRecv(streamId: number, buf: Uint8Array): [number, boolean] | null;
  /**
   * Writes as much of `data` as flow control allows; returns the bytes accepted (maybe 0
   * or fewer than `data.length`: keep the rest and retry from `processWrites`). `null`
   * means the stream cannot take anything now. Throws on a stopped/closed stream.
   */
  streamSend(streamId: number, data: Uint8Array, fin: boolean): number | null;
  /** Stop reading (STOP_SENDING) or abort writing (RESET_STREAM) with an app error code. */
  streamShutdown(streamId: number, dir: 'read' | 'write', code: number): void;
  streamCapacity(streamId: number): number;
  /** True once the stream's read side is finished (all data and FIN read, or reset). */
  streamFinished(streamId: number): boolean;
  /** Peer-permitted streams we can still open. */
  peerStreamsLeftBidi(): number;

  /**
   * Queues one QUIC DATAGRAM (RFC 9221). Returns false if it was dropped: the peer does
   * not accept datagrams, it is larger than `dgramMaxWritableLen()`, or the send queue is
   * full (counted in stats). Never throws for those.
   */
  dgramSend(data: Uint8Array): boolean;
  /** Next received datagram into `buf`; returns its length, or null when none is queued. */
  dgramRecv(buf: Uint8Array): number | null;
  /** The largest datagram payload we can send now, or null if the peer takes none. */
  dgramMaxWritableLen(): number | null;

  /** Schedules a flush this turn after writes made outside the hooks. Cheap; coalesced. */
  wake(): void;
  /** Runs the owning endpoint's pending flush now (QuicEndpoint.flushNow); optional. */
  flushNow?(): void;
  /** Closes with CONNECTION_CLOSE (app or transport). Idempotent. */
  close(isApp: boolean, code: number, reason?: string): void;
  stats(): ConnStats;
  /** DER certificates the peer presented (leaf first), or null. */
  peerCertChain(): Uint8Array[] | null;
  /** The connection's own first CID and the peer's CID it sends to now (QUIC-aware proxying). */
  sourceCid?(): Uint8Array;
  destinationCid?(): Uint8Array;
  /**
   * Packets beside this connection on its path (forwarded mode). Every QuicEndpoint offers it;
   * it is only meaningful where that path is a UDP socket (the outer connection, a relay's).
   * Absent from handles that are not drivers (test doubles).
   */
  readonly raw?: RawPacketPort;
}

/**
 * Forwarded-mode packets (draft-ietf-masque-quic-proxy-07 §6) travel on the same 4-tuple as
 * one connection but are not part of it: the endpoint that owns the socket routes them by
 * DCID to a handler and sends them to the connection's current peer address.
 */
export interface RawPacketPort {
  /** Length of the DCIDs the endpoint routes on; a VCID must have exactly this length. */
  readonly cidLen: number;
  /** The connection's peer address now (it follows a migration). */
  readonly peer: HostPort;
  /** Queues `pkt` (copied) to the connection's peer; it leaves with this turn's flush. */
  send(pkt: Uint8Array): void;
  /** Pushes queued packets to the socket now (after a burst). */
  flush(): void;
  /**
   * Routes short-header packets whose DCID is `cid` to `handler` (with their sender) instead
   * of dropping them. False when `cid` is taken (a connection's or another route's).
   */
  addRoute(cid: Uint8Array, handler: (pkt: Uint8Array, from: HostPort) => void): boolean;
  removeRoute(cid: Uint8Array): void;
}

/** The application protocol above one connection (HTTP/3, the echo example, …). */
export interface QuicApp {
  /** The handshake completed. Called once. */
  onEstablished?(conn: QuicConnHandle): void;
  /** Streams are readable and/or datagrams arrived. Read them all now. */
  processReads(conn: QuicConnHandle): void;
  /** Last chance to write before packets are sent. */
  processWrites?(conn: QuicConnHandle): void;
  /** The connection is gone (closed, drained or timed out). Called once. */
  onClosed?(conn: QuicConnHandle, info: CloseInfo): void;
}
