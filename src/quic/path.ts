/**
 * PacketPath: anything that carries datagrams between two addresses.
 *
 * The QUIC endpoint runs over a real UDP socket (`UdpPath`, endpoint.ts) or over any
 * other datagram carrier: an in-memory pipe in tests, or a CONNECT-UDP tunnel (RFC 9298)
 * that carries the client's inner QUIC connection to the egress relay inside the outer
 * connection to the ingress (src/masque/connect-udp.ts implements this interface).
 *
 * Contract:
 * - `send()` is synchronous and must not keep `pkt` after it returns (copy if needed).
 *   It never throws for transient conditions (a full queue drops the packet; QUIC
 *   recovers); it may throw QuicError `ERR_QUIC_PATH_CLOSED` after close().
 * - The receive handler is set once with `onReceive()`; `pkt` is only valid during the
 *   call (the carrier may reuse the buffer).
 * - `flush()` is optional: carriers that batch (e.g. a UDP socket with sendmmsg, a tunnel
 *   that writes several datagrams per turn) push out what they queued. The endpoint
 *   calls it once after each send burst.
 * - `close()` is idempotent; after it no handler call happens.
 */
export interface HostPort {
  host: string;
  port: number;
}

/** The same address and port (the text forms the paths report, e.g. a peer and a sender). */
export function sameHostPort(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.host === b.host;
}

export interface PacketPath {
  /** The local address that quiche sees for this path (used in RecvInfo.to / SendInfo.from). */
  readonly local: HostPort;
  send(pkt: Uint8Array, to: HostPort): void;
  onReceive(handler: (pkt: Uint8Array, from: HostPort) => void): void;
  flush?(): void;
  close(): void;
}
